import assert from 'node:assert/strict';
import { test } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

const onnx = { VOCALIS_SPEAKER_MODEL: 'onnx', VOCALIS_SPEAKER_ONNX_PATH: 'models/speaker.onnx', VOCALIS_SPEAKER_ONNX_CALIBRATION: '0.3, 0.8' };

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, '/srv/vocalis');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return assert.fail('expected a ConfigError');
}

test('the built-in GMM-UBM is the default speaker model; an ONNX model is configured with its features, window and calibration', () => {
  assert.deepEqual(loadConfig({}).speakerModel, { kind: 'gmm-ubm' });
  assert.deepEqual(loadConfig(onnx, '/srv/vocalis').speakerModel, {
    kind: 'onnx',
    path: '/srv/vocalis/models/speaker.onnx',
    features: { kind: 'fbank', melBins: 80 },
    windowFrames: 0,
    calibration: { impostor: 0.3, target: 0.8 },
  });
  const ge2e = loadConfig({ ...onnx, VOCALIS_SPEAKER_ONNX_FEATURES: 'mel40', VOCALIS_SPEAKER_ONNX_WINDOW_FRAMES: '160' }).speakerModel;
  assert.ok(ge2e.kind === 'onnx');
  assert.deepEqual([ge2e.features, ge2e.windowFrames], [{ kind: 'mel', melBins: 40 }, 160]);
});

test('an ONNX model without its file or calibration, with unknown features or an impossible calibration, is refused naming each variable', () => {
  const missing = problems({ VOCALIS_SPEAKER_MODEL: 'onnx' });
  assert.equal(missing.length, 2);
  assert.match(missing[0]!, /^VOCALIS_SPEAKER_ONNX_PATH: required with VOCALIS_SPEAKER_MODEL=onnx/);
  assert.match(
    missing[1]!,
    /^VOCALIS_SPEAKER_ONNX_CALIBRATION: required with VOCALIS_SPEAKER_MODEL=onnx: "impostor,target".*npm run bench -- consent --speaker-onnx PATH/,
  );
  assert.match(problems({ ...onnx, VOCALIS_SPEAKER_ONNX_FEATURES: 'mfcc13' })[0]!, /^VOCALIS_SPEAKER_ONNX_FEATURES: expected fbank<bins> or mel<bins>/);
  assert.match(problems({ ...onnx, VOCALIS_SPEAKER_ONNX_FEATURES: 'fbank512' })[0]!, /^VOCALIS_SPEAKER_ONNX_FEATURES: between 20 and 128 mel bins/);
  for (const calibration of ['0.8,0.3', '0.5', '0.2,1.5', 'low,high', '0.2,0.5,0.9']) {
    assert.match(
      problems({ ...onnx, VOCALIS_SPEAKER_ONNX_CALIBRATION: calibration })[0]!,
      /^VOCALIS_SPEAKER_ONNX_CALIBRATION: expected "impostor,target"/,
      calibration,
    );
  }
  assert.match(problems({ VOCALIS_SPEAKER_MODEL: 'ecapa' })[0]!, /^VOCALIS_SPEAKER_MODEL:/);
  // The ONNX settings are not required while the built-in model is used.
  assert.deepEqual(loadConfig({ VOCALIS_SPEAKER_ONNX_CALIBRATION: 'nonsense' }).speakerModel, { kind: 'gmm-ubm' });
});
