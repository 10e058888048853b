import type { CatalogueShape } from './catalogue-shape.ts';

/** Simplified Chinese catalogue; must cover every English key (checked by the type). */
export const zh = {
  'sample.progress': '已录 {net} / {target} 秒语音。',
  'sample.accepted': '样本合格：共 {net} 秒清晰语音。',
  'sample.problem.not_enough_speech': '语音还不够：已录 {net} / {target} 秒。',
  'sample.advice.not_enough_speech': '请继续朗读文本；停顿不计入，只计算说话的时间。',
  'sample.problem.clipping': '录音失真（{percent}% 的内容削波）。',
  'sample.advice.clipping': '请让麦克风离远一点，或调低输入音量。',
  'sample.problem.too_quiet': '录音音量太小（{level} dBFS）。',
  'sample.advice.too_quiet': '请靠近麦克风，用正常音量说话。',
  'sample.problem.noisy': '背景噪音太大（语音只比噪音高 {snr} dB）。',
  'sample.advice.noisy': '请在安静的房间录音，远离风扇、车流和音乐。',
  'sample.problem.mostly_non_speech': '录音大部分不是语音（只有 {percent}% 是）。',
  'sample.advice.mostly_non_speech': '请只发送你本人的朗读，不要有音乐或长时间静音。',
  'sample.problem.low_sample_rate': '音质太低（{rate} Hz，至少需要 {min} Hz）。',
  'sample.advice.low_sample_rate': '请在应用内直接录制语音消息，不要用电话录音或旧录音。',
  'audio.error.empty': '文件是空的。',
  'audio.error.too_large': '文件太大。',
  'audio.error.too_long': '录音太长。',
  'audio.error.truncated': '文件不完整，请重新发送。',
  'audio.error.corrupt': '文件已损坏，无法播放。',
  'audio.error.not_audio': '这不是音频文件。',
  'audio.error.no_audio_stream': '这个文件没有声音轨道。',
  'audio.error.timeout': '文件处理超时。',
  'audio.error.unsupported': '不支持这种音频格式。',
} as const satisfies CatalogueShape;
