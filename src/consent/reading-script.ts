import type { ConsentLanguage } from './consent-texts.ts';

/** What the user read while recording, when the sample follows the reading script. */
export interface ReadingScript {
  readonly language: string;
  /** Sentences in reading order; the first is the consent statement with the challenge. */
  readonly sentences: readonly string[];
}

/**
 * What the user reads into the microphone: first the consent statement with the
 * challenge (it proves a live, willing speaker), then phonetically varied sentences
 * that together take a little over a minute at a calm pace (the sample target is 60 s
 * of net speech, so the script must not run out before it). Backends that know the text (parallel training)
 * render the same sentences with their base voice.
 */
const STATEMENTS: Readonly<Record<ConsentLanguage, (challenge: string) => string>> = {
  en: (challenge) =>
    `I am aware that recordings of my voice will be used by Vocalis to create and use a synthetic version of my voice. My confirmation phrase is ${challenge}.`,
  zh: (challenge) => `我知道我的声音录音将被 Vocalis 用于制作和使用我声音的合成版本。我的确认短语是${challenge}。`,
};

/** Phonetically rich sentences (the English ones follow the public-domain Harvard lists' style). */
const SENTENCES: Readonly<Record<ConsentLanguage, readonly string[]>> = {
  en: [
    'The birch canoe slid on the smooth planks.',
    'Glue the sheet to the dark blue background.',
    'It is easy to tell the depth of a well.',
    'These days a chicken leg is a rare dish.',
    'Rice is often served in round bowls.',
    'The juice of lemons makes fine punch.',
    'The box was thrown beside the parked truck.',
    'Four hours of steady work faced us.',
    'A large size in stockings is hard to sell.',
    'The boy was there when the sun rose.',
    'A rod is used to catch pink salmon.',
    'The source of the huge river is the clear spring.',
    'Kick the ball straight and follow through.',
    'Help the woman get back to her feet.',
    'A pot of tea helps to pass the evening.',
    'Smoky fires lack flame and heat.',
    'The swan dive was far short of perfect.',
    'The beauty of the view stunned the young boy.',
    'Two blue fish swam in the tank.',
    'Her purse was full of useless trash.',
    'The colt reared and threw the tall rider.',
    'It snowed, rained, and hailed the same morning.',
    'Read verse out loud for pleasure.',
    'Hoist the load to your left shoulder.',
    'Take the winding path to reach the lake.',
    'Note closely the size of the gas tank.',
    'Wipe the grease off his dirty face.',
    'Mend the coat before you go out.',
  ],
  zh: [
    '今天早上天气晴朗，我们一起去公园散步。',
    '小明把红色的书包放在了窗户旁边的桌子上。',
    '春天来了，河边的柳树长出了嫩绿的新芽。',
    '请把这封信寄到北京市海淀区的邮局。',
    '他每天坚持跑步三公里，身体越来越健康。',
    '奶奶做的饺子又香又好吃，大家都很喜欢。',
    '火车在晚上八点半准时离开了上海站。',
    '老师耐心地回答了同学们提出的每一个问题。',
    '秋天的果园里挂满了金黄的梨和红红的苹果。',
    '我们应该节约用水，保护我们共同的家园。',
    '雨停了，天空中出现了一道美丽的彩虹。',
    '这家小店的咖啡很浓，价格也很便宜。',
    '周末我们打算去山上看日出，顺便拍几张照片。',
    '请在下一个路口向左转，然后一直往前走。',
    '妹妹喜欢画画，她的作品在学校里得了一等奖。',
    '冬天的早晨很冷，窗户上结了一层薄薄的霜。',
    '他把旧自行车修好了，骑起来又快又稳。',
    '图书馆里非常安静，大家都在认真地看书。',
    '我们一边喝茶一边聊天，不知不觉天就黑了。',
    '这条河从西向东流，最后流进了大海。',
  ],
};

export function readingScript(language: ConsentLanguage, challenge: string): ReadingScript {
  return { language, sentences: [STATEMENTS[language](challenge), ...SENTENCES[language]] };
}

/** The fixed parts of every consent statement, for the guard that stops a clone from consenting. */
export function statementTemplates(): ReadonlyArray<{ language: ConsentLanguage; text: string }> {
  return (Object.keys(STATEMENTS) as ConsentLanguage[]).map((language) => ({ language, text: STATEMENTS[language]('') }));
}

/**
 * What a recogniser listens for in the consent reading: the statement and the challenge,
 * each as the units that are checked. English: words. Mandarin: the statement as one
 * phrase and each challenge word as one (its check is acoustic, not word by word).
 */
export function statementParts(language: ConsentLanguage, challenge: string): { statement: string[]; challenge: string[] } {
  if (language === 'zh') {
    return { statement: [STATEMENTS.zh('').replace(/。+$/, '')], challenge: challenge.split('，').filter(Boolean) };
  }
  const words = (text: string) =>
    text
      .toLowerCase()
      .split(/[^a-z']+/)
      .filter(Boolean);
  return { statement: words(STATEMENTS.en('')), challenge: words(challenge) };
}
