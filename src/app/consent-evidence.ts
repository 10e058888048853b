import type { ConsentLanguage } from '../consent/consent-texts.ts';
import type { VoiceEvidence } from '../consent/verification/voice-evidence.ts';
import { EspeakAcousticMatcher } from '../engine/recognition/espeak-acoustic-matcher.ts';
import type { ReadingRecognizer } from '../engine/recognition/reading-recognition.ts';
import { SphinxRecognizer } from '../engine/recognition/sphinx-recognizer.ts';
import type { SpeakerModelConfig } from '../config/config.ts';
import { GmmUbmSpeakerModel } from '../engine/speaker/gmm-ubm-model.ts';
import { OnnxEmbeddingSpeakerModel } from '../engine/speaker/onnx-embedding-model.ts';
import type { SpeakerModel } from '../engine/speaker/speaker-model.ts';

/**
 * The consent-verification port, implemented by the engine's audio components: CMU
 * Sphinx for English readings, the espeak-ng acoustic check for Mandarin, and the
 * configured speaker model (the built-in GMM-UBM, or an ONNX embedding model).
 */
export function engineVoiceEvidence(speaker: SpeakerModel, recognizers: Readonly<Record<ConsentLanguage, ReadingRecognizer>>): VoiceEvidence {
  return {
    speakerModel: speaker.info,
    hearReading: (audio, language, expected, options) => recognizers[language].recognise(audio, expected, options),
    enrol: (audio, previous) => speaker.enrol(audio, previous),
    matchSpeaker: (enrolment, audio) => speaker.score(enrolment, audio),
  };
}

/** The configured speaker model: the committed GMM-UBM, or an operator's ONNX embedding model. */
export async function configuredSpeakerModel(config: SpeakerModelConfig): Promise<SpeakerModel> {
  return config.kind === 'onnx' ? OnnxEmbeddingSpeakerModel.load(config) : GmmUbmSpeakerModel.load();
}

/** The default evidence: recognisers from Debian's packages, the configured speaker model. */
export async function defaultVoiceEvidence(speaker: SpeakerModelConfig): Promise<VoiceEvidence> {
  return engineVoiceEvidence(await configuredSpeakerModel(speaker), { en: new SphinxRecognizer(), zh: new EspeakAcousticMatcher() });
}
