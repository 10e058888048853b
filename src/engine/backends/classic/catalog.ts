import { analyse } from './analysis.ts';
import { BASE_VOICES, renderBase, type BaseLanguage, type BaseVoice } from './render.ts';
import { computeStats, voiceDistance, type VoiceStats } from './stats.ts';

/**
 * The base voices a backend instance may use, and their statistics measured on
 * a fixed calibration passage. The statistics describe the synthesisers, not
 * any user, so they are cached for the life of the backend.
 */
const CALIBRATION: Record<BaseLanguage, string> = {
  en:
    'When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. ' +
    'The rainbow is a division of white light into many beautiful colors. ' +
    'Do you know how far away it is?',
  zh: '今天天气很好，我们一起去公园散步吧。春天来了，花都开了，树也绿了。小朋友们在草地上快乐地玩耍，老人们坐在长椅上聊天。你觉得这里的风景怎么样？',
};

export class BaseVoiceCatalog {
  readonly voices: readonly BaseVoice[];
  readonly #stats = new Map<string, Promise<VoiceStats>>();

  constructor(allowedIds?: readonly string[]) {
    this.voices = allowedIds ? BASE_VOICES.filter((v) => allowedIds.includes(v.id)) : BASE_VOICES;
  }

  languages(): BaseLanguage[] {
    return [...new Set(this.voices.map((v) => v.language))];
  }

  forLanguage(language: BaseLanguage): BaseVoice[] {
    return this.voices.filter((v) => v.language === language);
  }

  statsOf(voice: BaseVoice, signal?: AbortSignal): Promise<VoiceStats> {
    let stats = this.#stats.get(voice.id);
    if (!stats) {
      stats = renderBase(voice, CALIBRATION[voice.language], { signal }).then((pcm) => computeStats(analyse(pcm)));
      // A failed or aborted calibration must not poison the cache.
      stats.catch(() => this.#stats.delete(voice.id));
      this.#stats.set(voice.id, stats);
    }
    return stats;
  }

  /** The base voice whose pitch and average spectrum are nearest the user's. */
  async nearest(language: BaseLanguage, user: VoiceStats, signal?: AbortSignal): Promise<{ voice: BaseVoice; stats: VoiceStats }> {
    const candidates = this.forLanguage(language);
    let best: { voice: BaseVoice; stats: VoiceStats; distance: number } | null = null;
    for (const voice of candidates) {
      const stats = await this.statsOf(voice, signal);
      const distance = voiceDistance(stats, user);
      if (!best || distance < best.distance) best = { voice, stats, distance };
    }
    if (!best) throw new Error(`no base voice for language ${language}`);
    return { voice: best.voice, stats: best.stats };
  }
}
