/** Languages the bots and the CLI speak. */
export type Locale = 'en' | 'zh';

/** Maps a client language tag (Discord 'zh-CN', Telegram 'zh-hans', …) to a supported locale. */
export function localeFrom(tag: string | undefined): Locale {
  if (!tag) return 'en';
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  return primary === 'zh' ? 'zh' : 'en';
}
