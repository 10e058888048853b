import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config/config.ts';

/**
 * The compose files' shape, checked without a Docker daemon: the variables the Vocalis
 * containers get are ones the configuration reads, each container's settings load, nothing is
 * published on all interfaces, secrets come from env files only, the GPU roles reserve a GPU.
 */
const DOCKER = fileURLToPath(new URL('../../docker/', import.meta.url));
/** Read by the AWS SDK's own credential chain (the object store), not by src/config. */
const SDK_VARIABLES = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
/** One host of the deployment, as an operator runs compose on it. */
const HOST = { VOCALIS_PRIVATE_IP: '10.0.0.21' };

interface Service {
  readonly profiles?: string[];
  readonly image?: string;
  readonly build?: { context: string; dockerfile: string };
  readonly env_file?: string[];
  readonly environment?: Record<string, string>;
  readonly ports?: string[];
  readonly healthcheck?: { test: string[] };
  readonly restart?: string;
  readonly deploy?: { resources?: { reservations?: { devices?: { driver: string; count: number; capabilities: string[] }[] } } };
}

function composeFile(name: string, env: Record<string, string | undefined>): Record<string, Service> {
  const text = readFileSync(`${DOCKER}${name}`, 'utf8');
  return (parse(interpolate(text, env), { merge: true }) as { services: Record<string, Service> }).services;
}

/** Compose's interpolation: `${NAME}`, `${NAME:-default}`, `${NAME:?error}`, `$$` for a literal `$`. */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (whole === '$$') return '$';
    const value = env[name!];
    if (value) return value;
    if (op === ':?') throw new Error(`compose refuses to start: ${name} is unset (${arg})`);
    return op === ':-' ? arg! : '';
  });
}

/** An env file's `NAME=value` lines (comments and blank lines skipped). */
function envFile(name: string): Record<string, string> {
  const lines = readFileSync(`${DOCKER}${name}`, 'utf8').split('\n');
  return Object.fromEntries(lines.filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The Vocalis containers: built from this repository's Dockerfiles. */
function vocalisServices(services: Record<string, Service>): [string, Service][] {
  return Object.entries(services).filter(([, s]) => s.build?.dockerfile.startsWith('docker/Dockerfile'));
}

/** Loopback, RFC 1918 or IPv6 unique-local: reachable from the private network at most. */
function isPrivateAddress(host: string): boolean {
  if (isIP(host) === 4) {
    const [a, b] = host.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  return isIP(host) === 6 && (host === '::1' || /^f[cd]/i.test(host));
}

/** `HOST_IP:HOST_PORT:CONTAINER_PORT` → the host address; none (all interfaces) → undefined. */
function publishedOn(port: string): string | undefined {
  const parts = /^(?:\[([^\]]+)\]|([^:]+)):(\d+):(\d+)(?:\/\w+)?$/.exec(port);
  return parts ? (parts[1] ?? parts[2]) : undefined;
}

describe('docker/compose.multi-host.yaml', () => {
  const services = composeFile('compose.multi-host.yaml', HOST);
  const vocalisEnv = envFile('vocalis.env.example');
  const botsEnv = envFile('bots.env.example');
  /** The secrets an operator generates (left empty in the example on purpose). */
  const secrets = { VOCALIS_MASTER_KEY: 'ab'.repeat(32), VOCALIS_ENGINE_SECRET: 'cd'.repeat(32), AWS_ACCESS_KEY_ID: 'key', AWS_SECRET_ACCESS_KEY: 'secret' };

  test('one profile per host role: the shared services, engine nodes, workers, bots', () => {
    const roles = Object.fromEntries(Object.entries(services).map(([name, s]) => [name, s.profiles]));
    assert.deepEqual(roles, {
      postgres: ['state'],
      redis: ['state'],
      'object-store': ['state'],
      'object-store-bucket': ['state'],
      engine: ['engine'],
      worker: ['worker'],
      bots: ['bots'],
    });
  });

  test("every variable a Vocalis container gets is one src/config reads (or the AWS SDK's credentials)", () => {
    for (const [name, service] of vocalisServices(services)) {
      assert.deepEqual(service.env_file, name === 'bots' ? ['vocalis.env', 'bots.env'] : ['vocalis.env'], name);
      const names = [...Object.keys(vocalisEnv), ...(name === 'bots' ? Object.keys(botsEnv) : []), ...Object.keys(service.environment ?? {})];
      const unknown = names.filter((v) => !CONFIG_VARIABLES.includes(v) && !SDK_VARIABLES.has(v));
      assert.deepEqual(unknown, [], `${name} sets variables the configuration does not know`);
    }
  });

  test("each role's settings load: bots synthesise on engine nodes, engine nodes advertise this host's private address", () => {
    const configs = Object.fromEntries(
      vocalisServices(services).map(([name, service]) => [name, loadConfig({ ...vocalisEnv, ...secrets, ...service.environment }, '/app')]),
    );
    assert.deepEqual(Object.keys(configs).sort(), ['bots', 'engine', 'worker']);
    assert.equal(configs.bots!.engine.mode, 'remote');
    assert.equal(configs.bots!.runWorker, false);
    assert.equal(configs.engine!.engine.advertise, '10.0.0.21:7077');
    assert.equal(configs.worker!.runWorker, true);
    for (const config of Object.values(configs)) {
      assert.equal(config.redisUrl, vocalisEnv.REDIS_URL);
      assert.equal(config.objectStore?.bucket, 'vocalis');
    }
  });

  test('nothing is published on all interfaces: every port is bound to the private address or loopback', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of service.ports ?? []) {
        const host = publishedOn(port);
        assert.ok(host !== undefined && isPrivateAddress(host), `${name} publishes ${port}`);
      }
    }
    assert.deepEqual(services.engine!.ports, ['10.0.0.21:7077:7077']);
    // No fallback address anywhere: without the host's private address compose refuses to start.
    assert.throws(() => composeFile('compose.multi-host.yaml', {}), /VOCALIS_PRIVATE_IP is unset/);
    assert.doesNotMatch(readFileSync(`${DOCKER}compose.multi-host.yaml`, 'utf8'), /\$\{VOCALIS_PRIVATE_IP(?!:\?)/);
  });

  test('secrets come from env files: no password, key, token or secret in the compose file, none filled in the examples', () => {
    const secretName = /PASSWORD|SECRET|TOKEN|MASTER_KEY|ACCESS_KEY/;
    for (const [name, service] of Object.entries(services)) {
      const inline = Object.keys(service.environment ?? {}).filter((v) => secretName.test(v));
      assert.deepEqual(inline, [], `${name} sets a secret in the compose file`);
    }
    for (const file of ['vocalis.env.example', 'bots.env.example', 'state.env.example']) {
      const filled = Object.entries(envFile(file)).filter(([k, v]) => secretName.test(k) && v !== '');
      assert.deepEqual(filled, [], `${file} carries a secret`);
    }
  });

  test('engine nodes and workers reserve an NVIDIA GPU; bots and the shared services do not', () => {
    const gpu = Object.entries(services)
      .filter(([, s]) => s.deploy?.resources?.reservations?.devices?.some((d) => d.driver === 'nvidia' && d.capabilities.includes('gpu')))
      .map(([name]) => name);
    assert.deepEqual(gpu, ['engine', 'worker']);
  });

  test('every long-running service has a healthcheck', () => {
    const without = Object.entries(services)
      .filter(([, s]) => s.restart !== 'no' && !s.healthcheck?.test.length)
      .map(([name]) => name);
    assert.deepEqual(without, []);
  });
});

describe('docker/compose.yaml (one host)', () => {
  test('its Vocalis containers get only variables src/config reads', () => {
    const services = composeFile('compose.yaml', {});
    const vocalis = vocalisServices(services);
    assert.ok(vocalis.length >= 2);
    for (const [name, service] of vocalis) {
      const unknown = Object.keys(service.environment ?? {}).filter((v) => !CONFIG_VARIABLES.includes(v));
      assert.deepEqual(unknown, [], name);
    }
  });
});
