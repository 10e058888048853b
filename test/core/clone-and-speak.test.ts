import { test } from 'vitest';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startRuntime, eventually } from '../support/runtime-fixture.ts';
import { createToneBackend, estimateFrequency } from '../support/tone-backend.ts';
import { speakerFiles } from '../support/speech-data.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';

const cli = (id: string) => ({ platform: 'cli', platformUserId: id });
const everywhere = { platform: 'cli', contextId: '*' };

async function collect(audio: AsyncIterable<PcmChunk>): Promise<PcmChunk[]> {
  const chunks: PcmChunk[] = [];
  for await (const chunk of audio) chunks.push(chunk);
  return chunks;
}

test('the whole flow: consent → clips → preview → fine-tune → speak, each user with their own voice', async () => {
  const f = await startRuntime();
  try {
    const { vocalis, jobs } = f.runtime;
    const speakers = { alice: speakerFiles('3331')[0]!, bob: speakerFiles('1688')[0]! };
    for (const [name, file] of Object.entries(speakers)) {
      assert.throws(() => vocalis.speak({ requester: cli(name), context: everywhere, text: 'hello' }), { code: 'no_voice' });
      const offer = vocalis.offerConsent({ identity: cli(name), language: 'en', context: everywhere });
      await assert.rejects(
        vocalis.addClip({ identity: cli(name), audio: await readFile(file) }),
        { code: 'offer_pending' },
        'nothing is recorded before agreement',
      );
      const receipt = vocalis.acceptConsent({ identity: cli(name), consentId: offer.consent.id });
      assert.equal(receipt.textSha256, offer.text.sha256);
      const outcome = await vocalis.addClip({ identity: cli(name), audio: await readFile(file) });
      assert.equal(outcome.kind, 'stored');
      assert.ok(outcome.kind === 'stored' && outcome.complete && outcome.clone, 'a 3 s target is reached by one utterance and the clone is queued');
      const clone = outcome.kind === 'stored' ? outcome.clone : undefined;
      if (name === 'bob') assert.ok(typeof clone?.etaSeconds === 'number', 'with a finished fine-tune behind it, the next one has an ETA');
      else assert.equal(clone?.etaSeconds, null, 'no history, no guess');
      await eventually(() => jobs.get(clone!.jobId)?.state === 'completed', 15_000, `${name}'s fine-tune`);
    }
    const frequencies: Record<string, number> = {};
    for (const name of Object.keys(speakers)) {
      const speech = vocalis.speak({ requester: cli(name), context: everywhere, text: 'one two three' });
      assert.equal(speech.voice.state, 'ready');
      const chunks = await collect(speech.audio);
      // One 0.2 s tone burst per word; the engine's marking step re-cuts chunks but keeps every sample.
      assert.equal(seconds(chunks), 0.6);
      frequencies[name] = estimateFrequency(chunks[0]!);
    }
    assert.ok(Math.abs(frequencies['alice']! - frequencies['bob']!) > 5, `each voice is its own (${JSON.stringify(frequencies)})`);
    assert.equal(f.runtime.ledger.verify().ok, true);
  } finally {
    await f.close();
  }
});

test('a second clone while one runs is refused; speak without consent or by a stranger is refused', async () => {
  const f = await startRuntime({ backends: [createToneBackend({ stepMs: 300, steps: 5 })] });
  try {
    const { vocalis } = f.runtime;
    await assert.rejects(vocalis.startClone({ identity: cli('nobody') }), { code: 'no_consent' });
    const offer = vocalis.offerConsent({ identity: cli('carol'), language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity: cli('carol'), consentId: offer.consent.id });
    const outcome = await vocalis.addClip({ identity: cli('carol'), audio: await readFile(speakerFiles('2033')[0]!) });
    assert.ok(outcome.kind === 'stored' && outcome.clone);
    await assert.rejects(vocalis.startClone({ identity: cli('carol') }), { code: 'clone_in_progress' });
    // The preview voice speaks while the fine-tune runs.
    const preview = vocalis.speak({ requester: cli('carol'), context: everywhere, text: 'preview please' });
    assert.equal(preview.voice.state, 'preview');
    assert.equal(seconds(await collect(preview.audio)), 0.4);
    assert.throws(() => vocalis.speak({ requester: cli('mallory'), owner: cli('carol'), context: everywhere, text: 'hi' }), { code: 'not_allowed_speaker' });
  } finally {
    await f.close();
  }
});

test('a failing attempt is retried; the history shows the final outcome', async () => {
  const backend = createToneBackend({ failAttempts: [1] });
  const f = await startRuntime({ backends: [backend] });
  try {
    const { vocalis, jobs } = f.runtime;
    const offer = vocalis.offerConsent({ identity: cli('dave'), language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity: cli('dave'), consentId: offer.consent.id });
    const outcome = await vocalis.addClip({ identity: cli('dave'), audio: await readFile(speakerFiles('3005')[0]!) });
    assert.equal(outcome.kind, 'stored', JSON.stringify(outcome.verdict));
    const jobId = outcome.kind === 'stored' ? outcome.clone?.jobId : undefined;
    const job = await eventually(
      () => {
        const j = jobs.get(jobId!);
        return j?.state === 'completed' ? j : undefined;
      },
      15_000,
      'retried fine-tune',
    );
    assert.equal(backend.attempts, 2);
    assert.equal(job.result?.['steps'], 3);
  } finally {
    await f.close();
  }
});

test('bad audio gets a coded answer and is not kept', async () => {
  const f = await startRuntime({ needs: { queue: false } });
  try {
    const { vocalis } = f.runtime;
    const offer = vocalis.offerConsent({ identity: cli('erin'), language: 'en', context: everywhere });
    vocalis.acceptConsent({ identity: cli('erin'), consentId: offer.consent.id });
    await assert.rejects(vocalis.addClip({ identity: cli('erin'), audio: Buffer.from('<html>not audio</html>') }), { code: 'not_audio' });
    await assert.rejects(vocalis.addClip({ identity: cli('erin'), audio: new Uint8Array(0) }), { code: 'empty' });
    assert.equal(vocalis.status(cli('erin')).sample.clips, 0);
  } finally {
    await f.close();
  }
});

function seconds(chunks: readonly { samples: Float32Array; sampleRate: number }[]): number {
  return Math.round(chunks.reduce((sum, c) => sum + c.samples.length / c.sampleRate, 0) * 1000) / 1000;
}
