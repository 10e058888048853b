import { spawn } from 'node:child_process';
import { RecognizerUnavailableError } from './reading-recognition.ts';

const OUTPUT_LIMIT = 4 * 1024 * 1024;

/** Runs a command-line tool with `stdin` piped in; resolves with stdout, rejects on failure, a timeout or the signal. */
export function runTool(
  command: string,
  args: readonly string[],
  stdin: Uint8Array | null,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    options.signal?.throwIfAborted();
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => child.kill('SIGKILL');
    const timer = setTimeout(stop, options.timeoutMs);
    options.signal?.addEventListener('abort', stop, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > OUTPUT_LIMIT) return stop();
      chunks.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new RecognizerUnavailableError(`${command} is not installed`) : error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
      if (options.signal?.aborted) return reject(options.signal.reason);
      if (code !== 0) return reject(new Error(`${command} failed (${signal ?? `exit ${code}`})`));
      resolve(Buffer.concat(chunks));
    });
    // The tool may exit before reading everything (e.g. on bad input): that is reported by its exit code.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? undefined);
  });
}
