import { randomInt } from 'node:crypto';

/**
 * Random challenge phrases read aloud at the start of a sample: they tie the
 * recording to this consent, so an old recording cannot be replayed as a new one.
 * Four words from 128 gives 28 bits — ample against guessing within an offer's lifetime.
 */
const ENGLISH_WORDS = [
  'amber', 'anchor', 'apple', 'arrow', 'autumn', 'badger', 'bamboo', 'banner', 'basket', 'beacon', 'berry', 'blossom',
  'bottle', 'breeze', 'bridge', 'bronze', 'button', 'cabin', 'camel', 'candle', 'canyon', 'carpet', 'castle', 'cedar',
  'cherry', 'circle', 'cobalt', 'comet', 'copper', 'coral', 'cotton', 'cricket', 'crystal', 'dolphin', 'dragon', 'eagle',
  'ember', 'falcon', 'feather', 'fiddle', 'forest', 'fountain', 'garden', 'ginger', 'glacier', 'harbor', 'harvest', 'hazel',
  'helmet', 'honey', 'island', 'ivory', 'jacket', 'jungle', 'kettle', 'ladder', 'lantern', 'lemon', 'lilac', 'lizard',
  'magnet', 'maple', 'marble', 'meadow', 'melon', 'meteor', 'mirror', 'monkey', 'mountain', 'nectar', 'needle', 'nickel',
  'oasis', 'ocean', 'olive', 'orange', 'orchid', 'otter', 'paddle', 'panda', 'parrot', 'pebble', 'pepper', 'piano',
  'pillow', 'planet', 'pocket', 'potato', 'pumpkin', 'puzzle', 'rabbit', 'raven', 'ribbon', 'river', 'rocket', 'saddle',
  'salmon', 'satin', 'shadow', 'silver', 'spider', 'spring', 'squirrel', 'summer', 'sunset', 'tablet', 'thunder', 'tiger',
  'timber', 'tomato', 'tulip', 'turtle', 'valley', 'velvet', 'violin', 'wagon', 'walnut', 'window', 'winter', 'wizard',
  'yellow', 'zebra', 'seven', 'eleven', 'twenty', 'ninety', 'sixty', 'thirty',
];

const CHINESE_WORDS = [
  '苹果', '月亮', '星星', '河流', '高山', '森林', '花园', '海洋', '石头', '灯笼', '钢琴', '熊猫', '老虎', '兔子', '燕子', '蝴蝶',
  '西瓜', '葡萄', '橘子', '樱桃', '竹子', '松树', '荷花', '梅花', '雪山', '沙漠', '草原', '湖泊', '瀑布', '彩虹', '云朵', '闪电',
  '春天', '夏天', '秋天', '冬天', '早晨', '黄昏', '午夜', '星期', '桥梁', '城堡', '灯塔', '港口', '火车', '轮船', '飞机', '自行车',
  '书包', '铅笔', '毛笔', '茶杯', '雨伞', '帽子', '手套', '围巾', '镜子', '钥匙', '窗户', '楼梯', '椅子', '桌子', '枕头', '被子',
  '米饭', '面条', '饺子', '包子', '豆腐', '白菜', '土豆', '番茄', '蜂蜜', '牛奶', '咖啡', '绿茶', '面包', '鸡蛋', '糖果', '饼干',
  '红色', '蓝色', '金色', '银色', '紫色', '绿色', '黑色', '白色', '一百', '三千', '五万', '七十', '九十', '十八', '二十', '六十',
  '狮子', '骆驼', '海豚', '鲸鱼', '孔雀', '鹦鹉', '乌龟', '青蛙', '蜻蜓', '蚂蚁', '企鹅', '猫头鹰', '大象', '长颈鹿', '松鼠', '刺猬',
  '风筝', '口琴', '笛子', '鼓声', '铃铛', '剪刀', '地图', '指南针', '望远镜', '放大镜', '闹钟', '台灯', '画笔', '邮票', '信封', '硬币',
];

export const CHALLENGE_WORD_COUNT = 4;

export function createChallenge(language: 'en' | 'zh', pick: (max: number) => number = randomInt): string {
  const words = language === 'zh' ? CHINESE_WORDS : ENGLISH_WORDS;
  const chosen: string[] = [];
  while (chosen.length < CHALLENGE_WORD_COUNT) {
    const word = words[pick(words.length)];
    if (word !== undefined && !chosen.includes(word)) chosen.push(word);
  }
  return language === 'zh' ? chosen.join('，') : chosen.join(' ');
}

/** Phrases from the same list that are not in the challenge: what an acoustic check compares the reading against. */
export function decoyPhrases(language: 'en' | 'zh', challenge: string, count: number, pick: (max: number) => number = randomInt): string[] {
  const words = language === 'zh' ? CHINESE_WORDS : ENGLISH_WORDS;
  const taken = new Set(challenge.split(/[\s，]+/));
  const decoys: string[] = [];
  while (decoys.length < count) {
    const word = words[pick(words.length)];
    if (word !== undefined && !taken.has(word) && !decoys.includes(word)) decoys.push(word);
  }
  return decoys;
}

/** The words challenges are drawn from, for a language. */
export function challengeWords(language: 'en' | 'zh'): readonly string[] {
  return language === 'zh' ? CHINESE_WORDS : ENGLISH_WORDS;
}
