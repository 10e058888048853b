import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'vitest';
import { decodeOpusPackets } from '../../src/engine/audio/decode.ts';
import { encodeOggOpus, pcmToOpusFrames } from '../../src/engine/audio/opus-frames.ts';
import type { PcmChunk } from '../../src/engine/pcm.ts';
import { MARK_RATE } from '../../src/engine/watermark/mark-layout.ts';
import { VocalisError } from '../../src/core/user-facing-error.ts';
import { createFliteBackend } from '../support/flite-backend.ts';
import { startRuntime } from '../support/runtime-fixture.ts';
import { readShared } from '../support/speech-data.ts';
import { fliteWav } from '../support/spoken-audio.ts';

/**
 * One runtime, one voice (flite speech through the real engine): the mark is in the
 * engine's stream and in what each adapter makes of it — the Ogg Opus voice note
 * (Telegram's and the CLI's encoder), Discord's 20 ms stereo Opus frames — each maps to
 * the voice in the database; revocation leaves the deployment and the day only;
 * and a marked clip offered as a sample is refused.
 */
const TEXT =
  'Good evening, everyone. This is a synthetic voice reading a short note. It talks about the weather, ' +
  'which was grey and wet all day. Tomorrow should be brighter, with a light wind from the west. That is all for now.';

const owner = { platform: 'telegram', platformUserId: '4242' };
const context = { platform: 'telegram', contextId: '-100' };

async function collect(audio: AsyncIterable<PcmChunk>): Promise<PcmChunk[]> {
  const chunks: PcmChunk[] = [];
  for await (const chunk of audio) chunks.push(chunk);
  return chunks;
}

function joined(chunks: readonly PcmChunk[]): PcmChunk {
  const out = new Float32Array(chunks.reduce((n, c) => n + c.samples.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c.samples, at);
    at += c.samples.length;
  }
  return { samples: out, sampleRate: chunks[0]!.sampleRate };
}

test('every output path carries the mark; records map it to the voice until revocation leaves deployment and day', async () => {
  const fixture = await startRuntime({ backends: [createFliteBackend()], needs: { queue: false } });
  try {
    const { vocalis, db } = fixture.runtime;
    const offer = vocalis.offerConsent({ identity: owner, language: 'en', context });
    vocalis.acceptConsent({ identity: owner, consentId: offer.consent.id });
    const clip = await vocalis.addClip({ identity: owner, audio: readShared('allison-prompts/demo-congrats.wav'), cloneWhenComplete: false });
    assert.equal(clip.kind, 'stored');

    const speak = () => vocalis.speak({ requester: owner, context, text: TEXT });
    const pcm = joined(await collect(speak().audio));
    const fromStream = vocalis.checkMarkInPcm(pcm);
    assert.equal(fromStream.status === 'synthetic' && fromStream.voice.status, 'known', 'engine stream');

    const ogg = await encodeOggOpus(speak().audio);
    const voiceNote = await vocalis.checkMark(ogg);
    assert.equal(voiceNote.status, 'synthetic');
    assert.ok(
      voiceNote.status === 'synthetic' && voiceNote.voice.status === 'known' && voiceNote.voice.owner.platformUserId === '4242',
      'Ogg Opus voice note names the owner',
    );

    // The same file says so in its OpusTags, for anyone without our key.
    const probed = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream_tags', '-of', 'json', '-i', 'pipe:0'], { input: ogg }).toString(),
    ) as { streams: Array<{ tags: Record<string, string> }> };
    assert.equal(probed.streams[0]?.tags['DIGITAL_SOURCE_TYPE'], 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia');
    assert.equal(probed.streams[0]?.tags['AI_GENERATED'], 'true');

    const frames: Uint8Array[] = [];
    for await (const frame of pcmToOpusFrames(speak().audio, { channels: 2 })) frames.push(frame);
    const discord = vocalis.checkMarkInPcm(decodeOpusPackets(frames, MARK_RATE));
    assert.equal(discord.status === 'synthetic' && discord.voice.status, 'known', 'Discord Opus frames');

    const tokens = db.prepare('SELECT token, user_id, voice_id, created_at, created_on FROM utterance_marks').all();
    assert.equal(tokens.length, 3, 'one record per utterance');

    // A marked clip is no sample: refused, and nothing of it is kept.
    const clipsBefore = db.prepare('SELECT COUNT(*) AS n FROM sample_clips').get()!['n'];
    await assert.rejects(
      vocalis.addClip({ identity: owner, audio: ogg, cloneWhenComplete: false }),
      (e: unknown) => e instanceof VocalisError && e.code === 'marked_sample',
    );
    assert.equal(db.prepare('SELECT COUNT(*) AS n FROM sample_clips').get()!['n'], clipsBefore);

    await vocalis.revoke({ target: owner, actor: { kind: 'operator' } });
    const after = db.prepare('SELECT * FROM utterance_marks').all();
    assert.equal(after.length, 3);
    for (const row of after) {
      assert.deepEqual(
        Object.keys(row)
          .filter((k) => row[k] !== null)
          .sort(),
        ['created_on', 'key_id', 'token'],
        'only the token, the deployment key id and the day survive',
      );
      assert.match(String(row['created_on']), /^\d{4}-\d{2}-\d{2}$/);
    }
    const userId = String(tokens[0]!['user_id']);
    const voiceId = String(tokens[0]!['voice_id']);
    const leftovers = db.prepare('SELECT COUNT(*) AS n FROM utterance_marks WHERE user_id = ? OR voice_id = ? OR created_at IS NOT NULL').get(userId, voiceId)![
      'n'
    ];
    assert.equal(leftovers, 0);
    const deleted = await vocalis.checkMark(ogg);
    assert.deepEqual(deleted, { status: 'synthetic', voice: { status: 'deleted', createdOn: String(tokens[0]!['created_on']) } });
  } finally {
    await fixture.close();
  }
});

test('the same TTS made outside Vocalis carries no mark; a file that is not audio is unreadable', async () => {
  const fixture = await startRuntime({ backends: [createFliteBackend()], needs: { queue: false } });
  try {
    const { vocalis } = fixture.runtime;
    const outside = fliteWav('slt', TEXT);
    assert.deepEqual(await vocalis.checkMark(outside), { status: 'no_mark' });
    assert.deepEqual(await vocalis.checkMark(new Uint8Array([1, 2, 3, 4, 5])), { status: 'unreadable' });
  } finally {
    await fixture.close();
  }
});
