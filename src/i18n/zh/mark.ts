import type { mark as en } from '../en/mark.ts';

/** 标记检查的结果（/verify、vocalis mark check）。 */
export const mark: { readonly [K in keyof typeof en]: string } = {
  'mark.synthetic_voice': '这是本 Vocalis 部署生成的合成语音：{owner} 的声音，生成于 {date}。',
  'mark.synthetic_deleted': '这是本 Vocalis 部署生成的合成语音：该声音已被删除，生成于 {date}。',
  'mark.synthetic_unknown': '这是本 Vocalis 部署生成的合成语音。此片段太短或受损太重，无法判断是谁的声音或生成时间。',
  'mark.none': '未找到 Vocalis 标记。这并不说明录音是真实的，只说明它不是本部署生成的，或标记没有保留下来。',
  'mark.unreadable': '无法把该文件读取为音频。',
  'mark.needs_audio': '请用 /verify 回复一条语音消息或音频文件（或附上一个），以检查其中是否有 Vocalis 标记。',
  'error.marked_sample': '这段录音带有 Vocalis 标记：它是合成语音，合成的声音不能再次被克隆。',
  'discord.cmd.verify': '检查一段音频是否带有本服务器的 Vocalis 标记：是否为合成语音，是谁的声音？',
  'discord.cmd.verify.file': '要检查的音频文件或语音消息',
  'discord.cmd.verify.message': '指向一条带音频附件的消息的链接',
  'discord.verify.bad_link': '这不是指向本服务器中某条消息的链接。',
  'discord.verify.no_audio': '那条消息没有音频附件。',
};
