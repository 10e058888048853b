import type { UploadedFile } from './types.ts';

/** One API call travelling through the fake's middleware chain. */
export interface ApiCall {
  /** Canonical method name, e.g. `sendVoice`. */
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly uploads: readonly UploadedFile[];
}

export type Next = () => Promise<unknown>;
export type ApiMiddleware = (call: ApiCall, next: Next) => Promise<unknown>;

/**
 * Onion composition in the style of Telegraf's Composer.compose: each layer
 * decides whether to call `next` (at most once) and may short-circuit by throwing.
 */
export function compose(middlewares: readonly ApiMiddleware[], terminal: (call: ApiCall) => unknown): (call: ApiCall) => Promise<unknown> {
  return (call) => {
    let lastIndex = -1;
    const dispatch = async (index: number): Promise<unknown> => {
      if (index <= lastIndex) throw new Error('next() called multiple times');
      lastIndex = index;
      const middleware = middlewares[index];
      if (middleware === undefined) return terminal(call);
      return middleware(call, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}

/** The chat a call addresses, when it has a numeric chat_id. */
export function chatIdOf(call: ApiCall): number | undefined {
  const id = call.params.chat_id;
  return typeof id === 'number' ? id : undefined;
}
