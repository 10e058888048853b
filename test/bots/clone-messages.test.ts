// What both bots (and the CLI's ETA) say about a fine-tune comes from one module:
// the ETA in whole minutes, the queued line, and a job's state with a failure's code
// turned into the catalogue's sentence — in English and Chinese.
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { etaMinutes, jobMessage, queuedMessage } from '../../src/i18n/clone-messages.ts';
import type { SampleProblem } from '../../src/engine/audio/quality-verdict.ts';
import { mainProblem, problemLines } from '../../src/i18n/sample-messages.ts';

test('the ETA is whole minutes, rounded up, never zero', () => {
  assert.deepEqual([1, 59, 60, 61, 600].map(etaMinutes), [1, 1, 1, 2, 10]);
});

test('queued: position (1 when the queue does not know it), the ETA when there is one, the preview when it speaks', () => {
  assert.equal(
    queuedMessage('en', { position: 2, etaSeconds: 150 }),
    'Your sample is complete. Your voice is being trained (queue position 2). Expected to be ready in about 3 min.',
  );
  assert.equal(queuedMessage('en', { position: null, etaSeconds: null }), 'Your sample is complete. Your voice is being trained (queue position 1).');
  assert.equal(
    queuedMessage('zh', { position: 1, etaSeconds: 30 }, true),
    '样本已完成，正在训练你的声音（排队位置 1）。 预计约 1 分钟后就绪。\n训练完成前，你的声音预览版已经可以说话。',
  );
});

test("a failed job is told by the catalogue's message for its code, without a doubled full stop; an unknown code is the apology", () => {
  const failed = (errorCode: string | null) => ({ state: 'failed' as const, progress: null, errorCode });
  assert.equal(
    jobMessage('en', failed('queue_unavailable'), false),
    'Training your voice failed: Training is unavailable right now. Please try again later. Your previous voice, if any, still works.',
  );
  assert.equal(jobMessage('zh', failed('failed'), false), '训练失败：我们这边出了点问题，请稍后再试。你之前的声音（如有）仍可使用。');
  assert.doesNotMatch(jobMessage('en', { state: 'cancelled', progress: null, errorCode: 'cancelled' }, false), /: cancelled\./);
});

test('clip verdict lines: quality problems always, "not enough speech" only when asked; the main problem skips it', () => {
  const verdict: { problems: SampleProblem[] } = {
    problems: [
      { code: 'not_enough_speech', figures: { netSpeechSeconds: 12, targetSpeechSeconds: 60 } },
      { code: 'too_quiet', figures: { levelDb: -52 } },
    ],
  };
  assert.deepEqual(problemLines('en', verdict, false), ['The recording is too quiet (-52 dBFS). Move closer to the microphone and speak at a normal volume.']);
  assert.equal(problemLines('en', verdict, true).length, 2);
  assert.equal(mainProblem('en', verdict)?.code, 'too_quiet');
  assert.equal(mainProblem('en', { problems: [verdict.problems[0]!] })?.code, 'not_enough_speech');
  assert.equal(mainProblem('en', { problems: [] }), null);
});
