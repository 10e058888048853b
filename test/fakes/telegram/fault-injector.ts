import { type ApiError, tooManyRequests } from './types.ts';

export interface FaultScope {
  /** Only calls addressed to this chat (params.chat_id) are affected. */
  readonly chatId?: number;
}

interface Fault {
  readonly method: string;
  readonly chatId: number | undefined;
  remaining: number;
  readonly error: () => ApiError;
}

/** Canned failures for the next N matching calls; `*` matches every method. */
export class FaultInjector {
  readonly #faults: Fault[] = [];

  failNext(method: string, count: number, error: () => ApiError, scope: FaultScope = {}): void {
    if (count <= 0) return;
    this.#faults.push({ method: method.toLowerCase(), chatId: scope.chatId, remaining: count, error });
  }

  rateLimitNext(method: string, count: number, retryAfterSeconds: number, scope: FaultScope = {}): void {
    this.failNext(method, count, () => tooManyRequests(retryAfterSeconds), scope);
  }

  /** The error this call must fail with, consuming one use of the first matching fault. */
  take(method: string, chatId: number | undefined): ApiError | undefined {
    const lower = method.toLowerCase();
    const index = this.#faults.findIndex((f) => (f.method === '*' || f.method === lower) && (f.chatId === undefined || f.chatId === chatId));
    const fault = this.#faults[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.#faults.splice(index, 1);
    return fault.error();
  }

  clear(): void {
    this.#faults.length = 0;
  }
}
