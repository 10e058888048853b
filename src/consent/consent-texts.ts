import { createHash } from 'node:crypto';

export type ConsentLanguage = 'en' | 'zh';
export const CONSENT_LANGUAGES: readonly ConsentLanguage[] = ['en', 'zh'];

/** The version shown to users now. A wording change is a new version; old hashes stay verifiable. */
export const CURRENT_CONSENT_VERSION = 'v2';

export interface ConsentTextParams {
  readonly rawSampleRetentionDays: number;
  readonly voiceInactivityDays: number;
  /** Who besides the owner may make the voice speak, in words ("only you"). */
  readonly speakers: string;
}

export interface ConsentText {
  /** e.g. `consent/v1/en` */
  readonly id: string;
  readonly language: ConsentLanguage;
  readonly body: string;
  readonly sha256: string;
}

const TEMPLATES: Record<string, Readonly<Record<ConsentLanguage, (p: ConsentTextParams) => string>>> = {
  v1: {
    en: (p) =>
      [
        'Vocalis will create a synthetic copy of your voice. Please read this before you agree.',
        'What is recorded: only your own voice, while you read the script shown to you (about one minute). Nobody else in the channel is recorded.',
        'Why: to train a voice model that speaks text in a voice like yours. It is an AI voice, and every message it speaks is labelled as synthetic.',
        `Who can make it speak: ${p.speakers}. You can change this at any time.`,
        `Retention: the raw recording is deleted ${p.rawSampleRetentionDays} days after your voice is ready (unless you ask to keep it for re-training); the voice itself is deleted after ${p.voiceInactivityDays} days without use (unless you choose to keep it).`,
        'How to withdraw: revoke at any time with /voice delete (or /delete on Telegram). Revoking deletes your recordings, your voice model and everything made from them, at once. Server or group admins can also revoke your voice in their community.',
        'You must be the person whose voice is recorded. You will read a statement with a random confirmation phrase at the start, which proves the recording is new and yours.',
      ].join('\n\n'),
    zh: (p) =>
      [
        'Vocalis 将为你制作一个合成的声音副本。同意前请阅读以下内容。',
        '录制内容：只录制你本人朗读所给文稿时的声音（约一分钟），频道中的其他人不会被录制。',
        '用途：训练一个能用与你相似的声音朗读文字的声音模型。这是人工智能合成的声音，它说出的每一条消息都会标明是合成的。',
        `谁可以让它说话：${p.speakers}。你可以随时更改。`,
        `保存期限：你的声音就绪 ${p.rawSampleRetentionDays} 天后删除原始录音（除非你要求保留以便重新训练）；声音模型在 ${p.voiceInactivityDays} 天未使用后删除（除非你选择保留）。`,
        '如何撤回：随时使用 /voice delete（Telegram 上为 /delete）撤回。撤回会立即删除你的录音、声音模型以及由它们生成的一切。服务器或群组管理员也可以在其社区内撤回你的声音。',
        '你必须是被录制声音的本人。开始时你将朗读一段带有随机确认短语的声明，用以证明录音是新的、是你本人的。',
      ].join('\n\n'),
  },
};

/** v2 discloses consent verification: the reading is recognised and a voiceprint (biometric data) is kept. */
const VERIFICATION_DISCLOSURE: Readonly<Record<ConsentLanguage, string>> = {
  en: 'To check this, Vocalis recognises your reading of the statement and keeps a voiceprint made from it: a numeric description of your voice, which is biometric data. Every later recording is compared with it, and one that does not sound like you is not kept. The voiceprint is encrypted like your recordings, used for nothing else, and deleted with them when you revoke.',
  zh: '为此，Vocalis 会识别你朗读的声明，并据此保存一份声纹：对你声音的数字描述，属于生物识别数据。之后的每段录音都会与它比对，听起来不像你的录音不会被保存。声纹与你的录音一样加密保存，不作他用，并在你撤回时一并删除。',
};
TEMPLATES['v2'] = {
  en: (p) => `${TEMPLATES['v1']!.en(p)}\n\n${VERIFICATION_DISCLOSURE.en}`,
  zh: (p) => `${TEMPLATES['v1']!.zh(p)}\n\n${VERIFICATION_DISCLOSURE.zh}`,
};

export function consentText(language: ConsentLanguage, params: ConsentTextParams, version = CURRENT_CONSENT_VERSION): ConsentText {
  const template = TEMPLATES[version]?.[language];
  if (!template) throw new Error(`no consent text ${version} in ${language}`);
  const body = template(params);
  return { id: `consent/${version}/${language}`, language, body, sha256: sha256Hex(body) };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function isConsentLanguage(value: string): value is ConsentLanguage {
  return (CONSENT_LANGUAGES as readonly string[]).includes(value);
}
