import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { consentCallback, parseConsentCallback } from '../../../src/bots/telegram/callback-data.ts';
import { jobMessage } from '../../../src/i18n/clone-messages.ts';
import { KeyedSerial } from '../../../src/bots/telegram/keyed-serial.ts';
import { clipReply } from '../../../src/bots/telegram/voice-intake.ts';
import { en } from '../../../src/i18n/messages-en.ts';
import { zh } from '../../../src/i18n/messages-zh.ts';
import type { JobRecord } from '../../../src/storage/job-history.ts';

describe('callback data', () => {
  it('round-trips consent actions within 64 bytes and rejects anything else', () => {
    const id = 'c_0123456789abcdef0123';
    const agree = consentCallback('agree', id);
    assert.equal(agree, `c:a:${id}`);
    assert.ok(Buffer.byteLength(agree) <= 64);
    assert.deepEqual(parseConsentCallback(agree), { action: 'agree', consentId: id });
    assert.deepEqual(parseConsentCallback(consentCallback('cancel', id)), { action: 'cancel', consentId: id });
    assert.equal(parseConsentCallback('c:z:c_1'), null);
    assert.equal(parseConsentCallback('c:a:../etc'), null);
    assert.throws(() => consentCallback('agree', 'x'.repeat(80)), RangeError);
  });
});

describe('KeyedSerial', () => {
  it('runs one key in order, other keys alongside, and survives failures', async () => {
    const serial = new KeyedSerial();
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const a1 = serial.run('a', step('a1', 30, true));
    const a2 = serial.run('a', step('a2', 5));
    const b1 = serial.run('b', step('b1', 5));
    await assert.rejects(a1, /a1/);
    assert.equal(await a2, 'a2');
    assert.equal(await b1, 'b1');
    assert.ok(log.indexOf('end a1') < log.indexOf('start a2'), 'a2 waited for a1');
    assert.ok(log.indexOf('start b1') < log.indexOf('end a1'), 'b ran beside a');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(serial.activeKeys, 0, 'finished keys are forgotten');
  });
});

describe('Telegram messages', () => {
  it('has every Telegram key in Chinese too', () => {
    const keys = Object.keys(en).filter((k) => k.startsWith('telegram.'));
    assert.ok(keys.length >= 15);
    for (const key of keys)
      assert.ok(typeof (zh as Record<string, string>)[key] === 'string' && (zh as Record<string, string>)[key] !== (en as Record<string, string>)[key], key);
  });

  it('renders clip outcomes: progress, advice, refusal', () => {
    const stored = {
      kind: 'stored' as const,
      clipId: 'clip_1',
      complete: false,
      verdict: {
        accepted: false,
        netSpeechSeconds: 38.7,
        targetSpeechSeconds: 60,
        problems: [{ code: 'not_enough_speech' as const, figures: { netSpeechSeconds: 38.7, targetSpeechSeconds: 60 } }],
      },
    };
    assert.equal(clipReply('en', stored), 'Recorded 38 of 60 s of speech.');
    const refused = {
      kind: 'refused' as const,
      verdict: { accepted: false, netSpeechSeconds: 0, targetSpeechSeconds: 60, problems: [{ code: 'too_quiet' as const, figures: { levelDb: -52 } }] },
    };
    assert.equal(
      clipReply('en', refused),
      'I did not keep this recording.\nThe recording is too quiet (-52 dBFS). Move closer to the microphone and speak at a normal volume.',
    );
    assert.match(clipReply('zh', refused), /^我没有保存这段录音。/);
  });

  it('renders job states for the status message', () => {
    const job = (state: JobRecord['state'], extra: Partial<JobRecord> = {}): JobRecord => ({
      id: 'job_1',
      voiceId: 'v_1',
      userId: 'u_1',
      kind: 'finetune',
      backend: 'tone',
      state,
      progress: null,
      result: null,
      errorCode: null,
      error: null,
      createdAt: '',
      startedAt: null,
      finishedAt: null,
      ...extra,
    });
    assert.equal(jobMessage('en', job('active', { progress: { stage: 'training', fraction: 0.426 } }), false), 'Training your voice: training 43%');
    assert.match(jobMessage('en', job('completed'), false), /^Your voice is ready/);
    assert.equal(
      jobMessage('en', job('failed', { errorCode: 'queue_unavailable' }), false),
      'Training your voice failed: Training is unavailable right now. Please try again later. Your previous voice, if any, still works.',
    );
  });
});
