/**
 * English catalogue: the source of truth for keys and their parameters.
 * `{name}` placeholders are filled by t(); each key's params are typed in catalogue.ts.
 */
export const en = {
  'sample.progress': 'Recorded {net} of {target} s of speech.',
  'sample.accepted': 'Your sample is good: {net} s of clear speech.',
  'sample.problem.not_enough_speech': 'Not enough speech yet: {net} of {target} s.',
  'sample.advice.not_enough_speech': 'Keep reading the script aloud; pauses do not count, only speech.',
  'sample.problem.clipping': 'The recording is distorted ({percent}% of it is clipped).',
  'sample.advice.clipping': 'Hold the microphone a little further away or lower its input level.',
  'sample.problem.too_quiet': 'The recording is too quiet ({level} dBFS).',
  'sample.advice.too_quiet': 'Move closer to the microphone and speak at a normal volume.',
  'sample.problem.noisy': 'There is too much background noise (speech only {snr} dB above it).',
  'sample.advice.noisy': 'Record in a quiet room, away from fans, traffic and music.',
  'sample.problem.mostly_non_speech': 'Most of the recording is not speech (only {percent}% is).',
  'sample.advice.mostly_non_speech': 'Send only your own voice reading, without music or long silences.',
  'sample.problem.low_sample_rate': 'The audio quality is too low ({rate} Hz; at least {min} Hz is needed).',
  'sample.advice.low_sample_rate': 'Record a voice message in the app instead of a phone call or an old recording.',
  'audio.error.empty': 'The file is empty.',
  'audio.error.too_large': 'The file is too large.',
  'audio.error.too_long': 'The recording is too long.',
  'audio.error.truncated': 'The file is incomplete; please send it again.',
  'audio.error.corrupt': 'The file is damaged and cannot be played.',
  'audio.error.not_audio': 'This file is not audio.',
  'audio.error.no_audio_stream': 'This file has no sound track.',
  'audio.error.timeout': 'The file took too long to process.',
  'audio.error.unsupported': 'This audio format is not supported.',
} as const;
