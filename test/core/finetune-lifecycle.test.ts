import assert from 'node:assert/strict';
import { test } from 'vitest';
import { FineTuneLifecycle } from '../../src/core/finetune-lifecycle.ts';
import type { CloneQueue } from '../../src/core/ports.ts';
import { JobHistory } from '../../src/storage/job-history.ts';
import { VoiceCatalog } from '../../src/storage/voice-catalog.ts';
import { consentFixture } from '../support/consent-fixture.ts';

/** A queue that records what it is asked, and refuses when told to. */
class RecordingQueue implements CloneQueue {
  readonly queued: string[] = [];
  readonly purged: string[] = [];
  refuse = false;
  enqueue(job: { jobId: string }): Promise<void> {
    if (this.refuse) return Promise.reject(new Error('redis is down'));
    this.queued.push(job.jobId);
    return Promise.resolve();
  }
  position(): Promise<number | null> {
    return Promise.resolve(null);
  }
  purge(voiceIds: readonly string[]): Promise<void> {
    this.purged.push(...voiceIds);
    return Promise.resolve();
  }
}

function setUp() {
  const f = consentFixture();
  const user = f.users.resolve('discord', 'owner');
  const offer = f.consents.offer({ userId: user.id, language: 'en', scope: { platform: 'discord', context: 'g1', speakers: { mode: 'owner' } }, actor: 'u' });
  f.consents.accept(offer.consent.id, 'u');
  f.consents.sampleCollected(offer.consent.id);
  const jobs = new JobHistory(f.db, f.clock.now);
  const voices = new VoiceCatalog(f.db, f.clock.now);
  const queue = new RecordingQueue();
  const lifecycle = new FineTuneLifecycle({ db: f.db, jobs, voices, consents: f.consents, ledger: f.ledger, queue });
  const voice = voices.ensure(user.id, offer.consent.id, 'classic');
  return { f, user, consentId: offer.consent.id, jobs, voices, queue, lifecycle, voice };
}

test('a fine-tune is recorded from the queue to its publication, in one place', async () => {
  const { f, user, consentId, jobs, voices, queue, lifecycle, voice } = setUp();
  try {
    const jobId = await lifecycle.enqueue({ voice, userId: user.id, backend: 'classic', actor: 'user:discord:owner' });
    assert.deepEqual(queue.queued, [jobId]);
    assert.equal(jobs.get(jobId)?.state, 'queued');
    assert.equal(lifecycle.inFlight(user.id, voice.id)?.id, jobId);
    assert.equal(f.ledger.events({ type: 'voice.finetune_queued' }).length, 1);

    lifecycle.started(jobId);
    lifecycle.progress(jobId, { stage: 'training', fraction: 0.5 });
    assert.deepEqual(jobs.get(jobId)?.progress, { stage: 'training', fraction: 0.5 });
    // A retried attempt does not end the job.
    lifecycle.failed(jobId, { message: 'out of memory', willRetry: true });
    assert.equal(jobs.get(jobId)?.state, 'active');

    lifecycle.completed({ jobId, userId: user.id, voiceId: voice.id, consentId, version: 1, metrics: { loss: 0.25 } }, () => {});
    assert.equal(jobs.get(jobId)?.state, 'completed');
    assert.equal(voices.require(voice.id).currentVersion, 1);
    assert.equal(f.consents.store.get(consentId)?.state, 'voice_ready');
    assert.equal(f.ledger.events({ type: 'voice.ready' }).length, 1);
    assert.equal(lifecycle.inFlight(user.id, voice.id), undefined);
  } finally {
    f.close();
  }
});

test('a consent that ended before the publication leaves the previous version and the job unpublished', async () => {
  const { f, user, consentId, jobs, voices, lifecycle, voice } = setUp();
  try {
    const jobId = await lifecycle.enqueue({ voice, userId: user.id, backend: 'classic', actor: 'user:discord:owner' });
    lifecycle.started(jobId);
    assert.throws(
      () =>
        lifecycle.completed({ jobId, userId: user.id, voiceId: voice.id, consentId, version: 1, metrics: {} }, () => {
          throw new Error('the consent ended');
        }),
      /the consent ended/,
    );
    assert.equal(voices.require(voice.id).currentVersion, null);
    assert.equal(jobs.get(jobId)?.state, 'active');
    assert.equal(f.ledger.events({ type: 'voice.ready' }).length, 0);
  } finally {
    f.close();
  }
});

test('the first end of a job is its last: a failure or cancel reported later does not overwrite a revocation', async () => {
  const { f, user, jobs, queue, lifecycle, voice } = setUp();
  try {
    const revoked = await lifecycle.enqueue({ voice, userId: user.id, backend: 'classic', actor: 'user:discord:owner' });
    lifecycle.started(revoked);
    assert.deepEqual(lifecycle.cancelForUser(user.id, 'consent revoked'), [voice.id]);
    await lifecycle.purge([voice.id]);
    assert.deepEqual(queue.purged, [voice.id]);
    // The worker learns of it afterwards and reports the aborted run.
    lifecycle.failed(revoked, { message: 'aborted', willRetry: false });
    lifecycle.cancelled(revoked);
    assert.equal(jobs.get(revoked)?.state, 'cancelled');
    assert.equal(jobs.get(revoked)?.errorCode, 'consent_revoked');

    const failed = await lifecycle.enqueue({ voice, userId: user.id, backend: 'classic', actor: 'user:discord:owner' });
    lifecycle.failed(failed, { message: 'out of memory', willRetry: false });
    lifecycle.cancelled(failed);
    assert.equal(jobs.get(failed)?.state, 'failed');
    assert.equal(jobs.get(failed)?.error, 'out of memory');
  } finally {
    f.close();
  }
});

test('a queue that refuses the job leaves it recorded as failed, and nothing in the ledger', async () => {
  const { f, user, jobs, queue, lifecycle, voice } = setUp();
  try {
    queue.refuse = true;
    await assert.rejects(lifecycle.enqueue({ voice, userId: user.id, backend: 'classic', actor: 'user:discord:owner' }), /redis is down/);
    const [job] = jobs.list({ userId: user.id });
    assert.equal(job?.state, 'failed');
    assert.equal(job?.errorCode, 'queue_unavailable');
    assert.equal(lifecycle.inFlight(user.id, voice.id), undefined);
    assert.equal(f.ledger.events({ type: 'voice.finetune_queued' }).length, 0);
  } finally {
    f.close();
  }
});
