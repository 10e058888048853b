// Errors are types with closed codes: what a person may be told is decided by the error's
// type (not by how its code looks), the message comes from the catalogue by code in both
// languages, and one isConsentDenial() recognises the gate's refusal however it arrives.
import { afterAll, beforeAll, describe, it } from 'vitest';
import assert from 'node:assert/strict';
import { CONSENT_ERROR_CODES, ConsentDeniedError, ConsentError, isConsentDenial } from '../../src/consent/consent-errors.ts';
import { isUserFacingError, VOCALIS_ERROR_CODES, VocalisError } from '../../src/core/user-facing-error.ts';
import { AudioDecodeError } from '../../src/engine/audio/audio-errors.ts';
import { BACKEND_ERROR_CODES, BackendError } from '../../src/engine/backend.ts';
import { renderError, renderErrorCode } from '../../src/i18n/error-messages.ts';
import { startRuntime, type RuntimeFixture } from '../support/runtime-fixture.ts';
import { createToneBackend } from '../support/tone-backend.ts';

describe('isConsentDenial', () => {
  it("recognises the gate's refusal directly and as the cause of an abort, whatever its denial code", () => {
    const denial = new ConsentDeniedError('not_ready', 'consent is revoked');
    assert.ok(isConsentDenial(denial));
    assert.ok(isConsentDenial(new Error('This operation was aborted', { cause: denial })), 'as the cause of an abort');
    const abort = new Error('This operation was aborted', { cause: new Error('stream ended', { cause: new ConsentDeniedError('out_of_scope', 'x') }) });
    assert.ok(isConsentDenial(abort), 'two causes deep');
  });

  it('is not fooled by other errors that carry a denial-looking code', () => {
    assert.equal(isConsentDenial(new ConsentError('consent_exists', 'already given')), false);
    assert.equal(isConsentDenial(Object.assign(new Error('plain'), { code: 'no_consent' })), false);
    assert.equal(isConsentDenial(new VocalisError('sample_complete', 'complete')), false);
    assert.equal(isConsentDenial(undefined), false);
  });
});

describe('user-facing errors', () => {
  it("only the parts' own error types reach a person, in English and Chinese", () => {
    const limit = new VocalisError('text_too_long', 'too long', { max: 2000 });
    assert.ok(isUserFacingError(limit));
    assert.equal(renderError('en', limit), 'That text is too long (at most 2000 characters).');
    assert.match(renderError('zh', limit), /2000/);
    assert.notEqual(renderError('zh', limit), renderError('en', limit));
    assert.equal(renderError('en', new AudioDecodeError('corrupt', 'bad ogg')), renderErrorCode('en', 'corrupt'));
    // A library error whose code merely looks like ours is internal: the generic apology, not its text.
    const foreign = Object.assign(new Error('secret internal detail'), { code: 'no_voice' });
    assert.equal(isUserFacingError(foreign), false);
    assert.equal(renderError('en', foreign), 'Something went wrong on our side. Please try again later.');
    assert.equal(renderError('zh', foreign), renderErrorCode('zh', 'generic'));
  });

  it('every code of the core and of consent has its own message in English and Chinese (but the two without one on purpose)', () => {
    const withoutMessage = new Set(['unknown_consent', 'invalid_consent_transition']);
    for (const code of [...VOCALIS_ERROR_CODES, ...CONSENT_ERROR_CODES].filter((c) => !withoutMessage.has(c))) {
      for (const locale of ['en', 'zh'] as const) {
        assert.notEqual(
          renderErrorCode(locale, code, { seconds: 3, max: 10, state: 'granted', languages: 'en' }),
          renderErrorCode(locale, 'generic'),
          `${locale} ${code}`,
        );
      }
    }
    for (const code of withoutMessage) assert.equal(renderErrorCode('en', code), renderErrorCode('en', 'generic'));
  });

  it('every backend code a user can act on has its own message in English and Chinese; operator-only codes get the apology', () => {
    // These say what an operator must fix (models, drivers); a user can only be told to try later.
    const operatorOnly = new Set([
      'conversion_failed',
      'cuda_unavailable',
      'export_failed',
      'model_corrupt',
      'model_missing',
      'model_signature',
      'not_supported',
      'unknown_backend',
      'unknown_base_voice',
    ]);
    for (const code of BACKEND_ERROR_CODES) {
      for (const locale of ['en', 'zh'] as const) {
        const message = renderError(locale, new BackendError(code, 'internal detail', { max: 10, languages: 'en' }));
        assert.doesNotMatch(message, /internal detail/);
        if (operatorOnly.has(code)) assert.equal(message, renderErrorCode(locale, 'generic'), `${locale} ${code}`);
        else assert.notEqual(message, renderErrorCode(locale, 'generic'), `${locale} ${code} has no message of its own`);
      }
    }
  });

  it("a code without a message (a failed job's `failed`) is the generic apology, never the code", () => {
    assert.equal(renderErrorCode('en', 'failed'), 'Something went wrong on our side. Please try again later.');
    assert.equal(renderErrorCode('en', 'consent_exists', { state: 'granted' }), 'You already have an active consent (granted).');
  });
});

describe('acceptConsent', () => {
  let f: RuntimeFixture;
  beforeAll(async () => {
    f = await startRuntime({ backends: [createToneBackend()], needs: { queue: false } });
  });
  afterAll(async () => {
    await f.close();
  });

  it('returns the reading script with the challenge (adapters render it, they do not rebuild it)', () => {
    const identity = { platform: 'cli', platformUserId: 'hana' };
    const offer = f.runtime.vocalis.offerConsent({ identity, language: 'zh', context: { platform: 'cli', contextId: '*' } });
    const accepted = f.runtime.vocalis.acceptConsent({ identity, consentId: offer.consent.id });
    assert.equal(accepted.consentId, offer.consent.id);
    assert.equal(accepted.challenge, offer.consent.challenge);
    assert.deepEqual(accepted.script, offer.script);
    assert.ok(accepted.script.sentences[0]?.includes(offer.consent.challenge));
    assert.deepEqual(f.runtime.vocalis.status(identity).script, accepted.script);
    // A second /clone while this consent lives: the core refuses it with the state to show.
    assert.throws(
      () => f.runtime.vocalis.offerConsent({ identity, language: 'zh', context: { platform: 'cli', contextId: '*' } }),
      (error: unknown) => {
        assert.ok(error instanceof ConsentError && error.code === 'consent_exists');
        assert.equal(renderError('en', error), 'You already have an active consent (granted).');
        return true;
      },
    );
  });
});
