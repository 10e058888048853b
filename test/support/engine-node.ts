import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { startEngineNode, type RunningEngineNode } from '../../src/app/engine-service.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { VoiceBackend } from '../../src/engine/backend.ts';
import { signRequest } from '../../src/engine-node/request-auth.ts';
import { encodeSpeakRequest, SPEAK_PATH, type SpeakRequestBody } from '../../src/engine-node/speak-request.ts';
import { FrameDecoder, type Frame } from '../../src/engine-node/wire-format.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { REPO_ROOT } from './spawn-node.ts';

/** A shared secret for tests (the real one comes from VOCALIS_ENGINE_SECRET). */
export const TEST_ENGINE_SECRET = 'test-engine-secret-0123456789abcdef-0123456789';

export interface EngineNodeOptions {
  readonly dataDir: string;
  readonly masterKey: string;
  readonly redisUrl: string;
  readonly nodeId: string;
  readonly secret?: string;
  readonly env?: Record<string, string>;
}

function nodeEnv(options: EngineNodeOptions): Record<string, string> {
  return {
    VOCALIS_DATA_DIR: options.dataDir,
    VOCALIS_MASTER_KEY: options.masterKey,
    REDIS_URL: options.redisUrl,
    VOCALIS_ENGINE_SECRET: options.secret ?? TEST_ENGINE_SECRET,
    VOCALIS_ENGINE_NODE_ID: options.nodeId,
    VOCALIS_ENGINE_LISTEN: '127.0.0.1:0',
    VOCALIS_BACKEND: 'tone',
    // As the bot runtimes of these tests: their tone voices never read a consent statement.
    VOCALIS_CONSENT_VERIFICATION: 'off',
    VOCALIS_LOG_LEVEL: 'silent',
    ...options.env,
  };
}

/** An engine node in this process on the same data directory as the bot runtime (its own runtime, its own gate). */
export function startInProcessNode(options: EngineNodeOptions & { backends: readonly VoiceBackend[] }): Promise<RunningEngineNode> {
  const config = loadConfig(nodeEnv(options));
  return startEngineNode(config, createLogger({ level: 'silent' }), { backends: options.backends });
}

export interface EngineNodeProcess {
  readonly child: ChildProcess;
  readonly nodeId: string;
  /** `host:port` it registered, once running. */
  readonly address: Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Log lines (JSON) it wrote. */
  readonly logs: Array<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * `npm run engine` as a process of its own (src/engine-main.ts with the tone backend:
 * test/engine-node/fixtures/tone-engine-node.ts), configured by environment variables only.
 */
export function launchEngineNode(options: EngineNodeOptions & { wordMs?: number; cpu?: number; entry?: 'tone' | 'npm-run-engine' }): EngineNodeProcess {
  // `npm-run-engine`: src/engine-main.ts itself, with the backends the configuration names (classic).
  const entry = options.entry === 'npm-run-engine' ? 'src/engine-main.ts' : 'test/engine-node/fixtures/tone-engine-node.ts';
  const node = [process.execPath, '--disable-warning=ExperimentalWarning', entry];
  // Pinned to one core with taskset when asked (the throughput bench).
  const [command, ...args] = options.cpu === undefined ? node : ['taskset', '-c', String(options.cpu), ...node];
  const child = spawn(command!, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? '',
      ...nodeEnv(options),
      VOCALIS_LOG_LEVEL: 'info',
      TONE_WORD_MS: String(options.wordMs ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const address = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry['msg'] === 'engine node running') resolve(String(entry['address']));
      } catch {
        stderr += `${line}\n`;
      }
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    void exited.then(({ code, signal }) =>
      reject(new Error(`engine node ${options.nodeId} exited (${code ?? signal}) before running: ${stderr.slice(-2000)}`)),
    );
  });
  address.catch(() => undefined);
  return {
    child,
    nodeId: options.nodeId,
    address,
    exited,
    logs,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export interface RawStream {
  /** Every frame as it arrived, with performance.now(). */
  readonly frames: Array<{ readonly frame: Frame; readonly at: number }>;
  /** Resolves when the node ends the response. */
  readonly done: Promise<void>;
  close(): void;
}

/** A signed /v1/speak straight to one node, with no bot (and no bot ticket) behind it: only the node's gate can stop it. */
export function openRawStream(address: string, nodeId: string, request_: SpeakRequestBody, secret = TEST_ENGINE_SECRET): RawStream {
  const body = encodeSpeakRequest(request_);
  const headers = signRequest(secret, { method: 'POST', path: SPEAK_PATH, nodeId, body });
  const [host, port] = address.split(':');
  const frames: Array<{ frame: Frame; at: number }> = [];
  let req: ReturnType<typeof request> | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const decoder = new FrameDecoder(secret, headers['x-vocalis-nonce']!);
    req = request({ host, port: Number(port), method: 'POST', path: SPEAK_PATH, headers }, (res) => {
      res.on('data', (bytes: Buffer) => {
        decoder.push(bytes);
        for (let frame = decoder.next(); frame; frame = decoder.next()) frames.push({ frame, at: performance.now() });
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  done.catch(() => undefined);
  return { frames, done, close: () => req?.destroy() };
}
