import { analyse } from '../../features/analysis.ts';
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

  /**
   * Calibration is shared by every caller, so no caller's abort signal reaches
   * it (one job's cancel must not fail another's); it takes a fraction of a second.
   */
  statsOf(voice: BaseVoice): Promise<VoiceStats> {
    let stats = this.#stats.get(voice.id);
    if (!stats) {
      stats = renderBase(voice, CALIBRATION[voice.language]).then((pcm) => computeStats(analyse(pcm)));
      // A failed calibration must not poison the cache.
      stats.catch(() => this.#stats.delete(voice.id));
      this.#stats.set(voice.id, stats);
    }
    return stats;
  }

  /** The base voice whose pitch and average spectrum are nearest the user's. */
  async nearest(language: BaseLanguage, user: VoiceStats, signal?: AbortSignal): Promise<{ voice: BaseVoice; stats: VoiceStats }> {
    const candidates = this.forLanguage(language);
    // Start every calibration at once so the synthesisers' child processes overlap.
    const allStats = await Promise.all(candidates.map((voice) => this.statsOf(voice)));
    signal?.throwIfAborted();
    let best: { voice: BaseVoice; stats: VoiceStats; distance: number } | null = null;
    for (const [k, voice] of candidates.entries()) {
      const stats = allStats[k]!;
      const distance = voiceDistance(stats, user);
      if (!best || distance < best.distance) best = { voice, stats, distance };
    }
    if (!best) throw new Error(`no base voice for language ${language}`);
    return { voice: best.voice, stats: best.stats };
  }
}
