import type { CliContext } from '../cli-context.ts';
import { ok, refused, UsageError, type CommandResult } from '../cli-io.ts';
import { isConsentLanguage } from '../../consent/consent-texts.ts';
import type { SpeakerPolicy } from '../../consent/consent-record.ts';
import type { VerificationRecord } from '../../consent/verification/verification-record.ts';

/** `vocalis consent grant|show|revoke --user ID` */
export async function consentCommand(ctx: CliContext, action: string | undefined): Promise<CommandResult> {
  const identity = ctx.identity();
  // A revocation erases the user's jobs from Redis (and rewrites its AOF), so it needs the queue:
  // the running service's Redis when there is one.
  const { vocalis } = await ctx.runtime({ queue: action === 'revoke' });
  switch (action) {
    case 'grant': {
      const language = ctx.option('language') ?? 'en';
      if (!isConsentLanguage(language)) throw new UsageError('--language must be en or zh');
      const speakers = parseSpeakers(ctx.option('speakers'));
      const offer = vocalis.offerConsent({ identity, language, context: { platform: identity.platform, contextId: ctx.option('scope') ?? '*' }, speakers });
      const { challenge, script, ...receipt } = vocalis.acceptConsent({ identity, consentId: offer.consent.id });
      return ok(
        { receipt, challenge, script: script.sentences, consentText: offer.text.body },
        [
          `Consent ${receipt.consentId} granted at ${receipt.grantedAt}`,
          `Text ${receipt.textId} sha256 ${receipt.textSha256}`,
          `Scope: ${receipt.scope.platform} / ${receipt.scope.context}, speakers: ${receipt.scope.speakers.mode}`,
          `Verification: ${receipt.verification}${receipt.verification === 'required' ? ' (the first file must be the statement below, read with the phrase)' : ' (turned off by the operator)'}`,
          `Challenge phrase: ${challenge}`,
          '',
          'Reading script (read it aloud, starting with the statement):',
          ...script.sentences.map((s, i) => `  ${i + 1}. ${s}`),
        ].join('\n'),
      );
    }
    case 'show': {
      const status = vocalis.status(identity);
      if (!status.consent) return refused({ consent: null }, `No active consent for ${identity.platform}:${identity.platformUserId}.`);
      const c = status.consent;
      return ok(
        { consent: c, verification: status.verification, sample: status.sample, voice: status.voice, job: status.job },
        [
          `Consent ${c.id}: ${c.state}`,
          `Text ${c.textId} sha256 ${c.textSha256}; granted ${c.grantedAt ?? 'not yet'}`,
          `Scope: ${c.scope.platform} / ${c.scope.context}, speakers: ${c.scope.speakers.mode}; banked ${c.banked}, keep raw ${c.keepRaw}`,
          ...describeVerification(status.verification),
          `Sample: ${status.sample.clips} clip(s), ${status.sample.speechSeconds.toFixed(1)} of ${status.sample.targetSeconds} s of speech`,
          `Voice: ${status.voice ? `${status.voice.id} ${status.voice.state} (version ${status.voice.currentVersion ?? '-'}, ${status.voice.backend})` : 'none'}`,
        ].join('\n'),
      );
    }
    case 'revoke': {
      const receipt = await vocalis.revoke({ target: identity, actor: { kind: 'operator' }, reason: ctx.option('reason') ?? 'revoked by the operator' });
      return ok(
        { receipt },
        [
          `Consent ${receipt.consentId} ${receipt.outcome} at ${receipt.at} by ${receipt.by}.`,
          `Deleted: ${receipt.deleted.voices} voice(s), ${receipt.deleted.clips} clip(s), ${receipt.deleted.files} file(s) (${receipt.deleted.bytes} bytes); ${receipt.deleted.jobsCancelled} job(s) cancelled.`,
        ].join('\n'),
      );
    }
    default:
      throw new UsageError('consent needs one of: grant, show, revoke');
  }
}

/** The receipt's evidence: what was verified, by which models, with which scores. */
function describeVerification(record: VerificationRecord | null): string[] {
  if (!record) return ['Verification: none recorded'];
  switch (record.status) {
    case 'off':
      return ['Verification: OFF (VOCALIS_CONSENT_VERIFICATION=off when this consent was given): nothing was verified'];
    case 'awaiting_reading':
      return [`Verification: required; waiting for the statement reading (${record.failedReadings} failed attempt(s))`];
    case 'verified': {
      const r = record.reading;
      const words = r.words.map((w) => (w.start === null ? w.word : `${w.word}@${w.start.toFixed(2)}-${(w.end ?? w.start).toFixed(2)}s`));
      const scores = record.clips.map((c) => `${c.clipId} ${c.score.toFixed(2)}`);
      return [
        `Verification: required; statement read ${r.at}, assurance ${r.assurance} (${r.method}, ${r.recognizerVersion}), ${Math.round(r.coverage * 100)}% of the statement heard`,
        `  Phrase: ${r.challenge}`,
        `  Words heard: ${words.join(' ')}`,
        ...(r.missing.length ? [`  Not heard: ${r.missing.join(' ')}`] : []),
        `  Speaker model: ${r.speakerModel.name} ${r.speakerModel.version}, voiceprint from ${r.speechSeconds} s of the reading`,
        `  Clip matches (threshold ${record.clips[0]?.threshold ?? '-'}): ${scores.length ? scores.join(', ') : 'none yet'}; mismatches refused: ${record.mismatches}`,
      ];
    }
  }
}

function parseSpeakers(value: string | undefined): SpeakerPolicy {
  if (value === undefined || value === 'owner') return { mode: 'owner' };
  if (value === 'context') return { mode: 'context' };
  const listed = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (listed.length === 0) throw new UsageError('--speakers is owner, context, or a comma-separated list of user ids');
  return { mode: 'listed', platformUserIds: listed };
}
