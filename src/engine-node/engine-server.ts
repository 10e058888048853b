import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConsentDeniedError } from '../consent/consent-errors.ts';
import type { ConsentGate } from '../consent/consent-gate.ts';
import type { PreparationTarget, VoicePreparation } from '../core/ports.ts';
import { VocalisError } from '../core/user-facing-error.ts';
import type { SpeechEngine } from '../engine/speech-engine.ts';
import type { Logger } from '../observability/logger.ts';
import type { VoiceCatalog } from '../storage/voice-catalog.ts';
import { RequestVerifier } from './request-auth.ts';
import type { RevokedVoiceSweeper } from './revoked-voice-sweeper.ts';
import { decodePrepareRequest, PREPARE_PATH } from './prepare-request.ts';
import { decodeSpeakRequest, MAX_BODY_BYTES, SPEAK_PATH, type SpeakRequestBody } from './speak-request.ts';
import { toWireError } from './wire-errors.ts';
import { FRAME_CONTENT_TYPE, FrameEncoder, type Frame } from './wire-format.ts';

/** While synthesis is slower than this the node sends keepalive frames: the client tells a slow model from a dead link. */
export const KEEPALIVE_MS = 1000;

export interface EngineServerDeps {
  readonly nodeId: string;
  readonly secret: string;
  readonly gate: ConsentGate;
  readonly voices: VoiceCatalog;
  readonly speech: SpeechEngine;
  /** Prepares preview voices from their sample, in this process. */
  readonly preparation: VoicePreparation;
  /** Drops loaded voices whose consent ended: told of each voice served, and asked to sweep at a denial. */
  readonly sweeper: RevokedVoiceSweeper;
  readonly logger: Logger;
  /** Serve over TLS with this certificate (PEM), so text and audio are private on the wire too. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

type Phase = { readonly status: 'serving' } | { readonly status: 'draining' };

/** What the node is doing for one request: the controller aborts its synthesis (client gone, shutdown). */
interface ActiveStream {
  readonly abort: AbortController;
  readonly finished: Promise<void>;
}

/**
 * An engine node's HTTP/1.1 server: `POST /v1/speak` streams one utterance as frames
 * (wire-format.ts). The node asks its own consent gate and holds the ticket while it
 * streams (SpeechEngine re-checks it before each chunk and on its timer). A frame is
 * written only when the socket has drained the last one, so a slow reader holds the
 * synthesis back instead of making the node buffer the utterance; a client that goes
 * away aborts the synthesis and releases the voice at once.
 */
export class EngineServer {
  readonly #d: EngineServerDeps;
  readonly #verifier: RequestVerifier;
  readonly #server: Server;
  readonly #streams = new Set<ActiveStream>();
  #phase: Phase = { status: 'serving' };
  /** The most bytes ever queued in this process for one response (the backpressure bound, for tests and metrics). */
  #peakQueuedBytes = 0;
  #served = 0;

  constructor(deps: EngineServerDeps) {
    this.#d = deps;
    this.#verifier = new RequestVerifier(deps.secret, deps.nodeId);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((error: unknown) => {
        deps.logger.error({ err: error }, 'engine request failed outside its stream');
        res.destroy();
      });
    };
    this.#server = deps.tls ? createTlsServer({ cert: deps.tls.cert, key: deps.tls.key }, handler) : createServer(handler);
    // Streams last as long as the utterance: no socket timeout, the keepalives show the link lives.
    this.#server.requestTimeout = 30_000;
    this.#server.keepAliveTimeout = 5000;
  }

  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Requests that reached synthesis (authenticated and well formed), since start. */
  get servedStreams(): number {
    return this.#served;
  }

  get peakQueuedBytes(): number {
    return this.#peakQueuedBytes;
  }

  async listen(host: string, port: number): Promise<number> {
    this.#server.listen(port, host);
    await once(this.#server, 'listening');
    return (this.#server.address() as AddressInfo).port;
  }

  /**
   * Stops taking requests (new ones get 503 and go to the next node), lets running
   * streams finish for up to `graceMs`, then aborts the rest: their clients get a
   * typed error frame, not a silently shortened utterance.
   */
  async close(graceMs: number): Promise<void> {
    this.#phase = { status: 'draining' };
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const running = [...this.#streams];
    const timer = setTimeout(() => {
      for (const stream of running) stream.abort.abort(new VocalisError('engine_node_lost', 'the engine node is shutting down'));
    }, graceMs);
    await Promise.all(running.map((s) => s.finished));
    clearTimeout(timer);
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || (req.url !== SPEAK_PATH && req.url !== PREPARE_PATH)) return void res.writeHead(404).end();
    if (this.#phase.status === 'draining') return void res.writeHead(503, { connection: 'close' }).end();
    const body = await readBody(req);
    if (!body) return void res.writeHead(413, { connection: 'close' }).end();
    const verdict = this.#verifier.verify({ method: req.method, path: req.url, headers: req.headers, body });
    if (verdict.status === 'refused') {
      // Which check failed is logged here, never told to the caller, and never the headers themselves.
      this.#d.logger.warn({ reason: verdict.reason, remote: req.socket.remoteAddress }, 'engine request refused');
      return void res.writeHead(401, { connection: 'close' }).end();
    }
    if (req.url === PREPARE_PATH) {
      const request = decodePrepareRequest(body);
      if (!request) return void res.writeHead(400).end();
      await this.#respond(verdict.nonce, res, (work) => this.#prepare(request, work));
      return;
    }
    const request = decodeSpeakRequest(body);
    if (!request) return void res.writeHead(400).end();
    this.#served++;
    await this.#respond(verdict.nonce, res, (work) => this.#stream(request, work));
  }

  /**
   * One response of frames: tracked for shutdown, aborted when the client goes away, ended
   * with the work's last frame or with its error as a typed error frame.
   */
  async #respond(nonce: string, res: ServerResponse, run: (work: Work) => Promise<void>): Promise<void> {
    const abort = new AbortController();
    let finish = (): void => {};
    const active: ActiveStream = { abort, finished: new Promise<void>((resolve) => (finish = resolve)) };
    this.#streams.add(active);
    // The client went away (aborted, or its host died): stop the work now, not when the next write fails.
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new Error('the client closed the stream'));
    };
    res.on('close', onClose);
    const encoder = new FrameEncoder(this.#d.secret, nonce);
    let stop = abort.signal;
    let cleanup: (() => Promise<unknown>) | undefined;
    const work: Work = {
      signal: abort.signal,
      send: async (frame) => {
        const ok = res.write(encoder.encode(frame));
        this.#peakQueuedBytes = Math.max(this.#peakQueuedBytes, res.writableLength);
        if (!ok) await drained(res, stop);
      },
      // Once a ticket exists, its end also stops a write waiting on a slow reader.
      stopAlsoOn: (signal) => {
        stop = AbortSignal.any([abort.signal, signal]);
      },
      atEnd: (fn) => {
        cleanup = fn;
      },
    };
    res.writeHead(200, { 'content-type': FRAME_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.flushHeaders();
    try {
      await run(work);
      res.end();
    } catch (error) {
      if (res.destroyed || (abort.signal.aborted && !(abort.signal.reason instanceof VocalisError))) {
        res.destroy();
      } else {
        const wire = toWireError(abort.signal.aborted ? abort.signal.reason : error);
        if (wire.family === 'internal') this.#d.logger.error({ err: error }, 'work failed on the engine node');
        // A consent that ended here takes its loaded voice out of memory now, not at the next sweep.
        if (wire.family === 'consent_denied') this.#d.sweeper.sweep();
        res.end(encoder.encode({ type: 'error', error: wire }));
      }
    } finally {
      abort.abort(new Error('the stream ended'));
      await cleanup?.().catch(() => undefined);
      res.off('close', onClose);
      this.#streams.delete(active);
      finish();
    }
  }

  async #stream(request: SpeakRequestBody, work: Work): Promise<void> {
    const { target, options, requester, context } = request;
    const ticket = this.#d.gate.authorize({ purpose: 'speak', ownerUserId: target.userId, requester, context, text: options.text });
    try {
      // The voice must be the one this consent stands behind, in a version that was published.
      const voice = this.#d.voices.forConsent(ticket.consentId);
      if (!voice || voice.id !== target.voiceId || voice.backend !== target.backend || !this.#d.voices.version(voice.id, target.version)) {
        throw new VocalisError('no_voice', 'the requested voice is not the consenting owner’s published voice');
      }
    } catch (error) {
      ticket.release();
      throw error;
    }
    this.#d.sweeper.loaded(target.userId, target.voiceId);
    work.stopAlsoOn(ticket.signal);
    const chunks = this.#d.speech.stream(target, { ...options, signal: work.signal }, ticket)[Symbol.asyncIterator]();
    // Ends the generator if it is parked at a yield: releases the voice and the ticket.
    work.atEnd(() => chunks.return?.(undefined) ?? Promise.resolve());
    let pending = chunks.next();
    for (;;) {
      const step = await withKeepalive(pending, () => work.send({ type: 'keepalive' }));
      if (step.done) break;
      await work.send({ type: 'audio', chunk: step.value });
      pending = chunks.next();
    }
    await work.send({ type: 'end' });
  }

  /** Prepares a voice version from its consent's sample (files written by this node), under a `train` ticket. */
  async #prepare(target: PreparationTarget, work: Work): Promise<void> {
    const ticket = this.#d.gate.authorize({ purpose: 'train', userId: target.userId });
    try {
      if (ticket.consentId !== target.consentId) throw new ConsentDeniedError('no_consent', 'the consent this voice was asked for has ended');
      // A new version of the consent's own voice: never one already published.
      const voice = this.#d.voices.forConsent(ticket.consentId);
      if (!voice || voice.id !== target.voiceId || this.#d.voices.version(voice.id, target.version)) {
        throw new VocalisError('no_voice', 'the requested version is not a new version of the consenting owner’s voice');
      }
      ticket.watch();
      work.stopAlsoOn(ticket.signal);
      const prepared = await withKeepalive(this.#d.preparation.prepare(target, AbortSignal.any([work.signal, ticket.signal])), () =>
        work.send({ type: 'keepalive' }),
      );
      ticket.check();
      await work.send({ type: 'prepared', zeroShot: prepared.zeroShot });
    } finally {
      ticket.release();
    }
  }
}

/** What a request's work may do with its response. */
interface Work {
  /** Aborted when the client goes away or the node stops. */
  readonly signal: AbortSignal;
  /** Writes a frame, waiting while the client has not taken the last ones. */
  send(frame: Frame): Promise<void>;
  stopAlsoOn(signal: AbortSignal): void;
  /** Runs after the response ended, however it ended. */
  atEnd(fn: () => Promise<unknown>): void;
}

/** Waits for a step of the synthesis, sending keepalives while it takes long. */
async function withKeepalive<T>(pending: Promise<T>, keepalive: () => Promise<void>): Promise<T> {
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((resolve) => {
      timer = setTimeout(() => resolve('tick'), KEEPALIVE_MS);
    });
    const result = await Promise.race([pending, tick]).finally(() => clearTimeout(timer));
    if (result !== 'tick') return result as T;
    await keepalive();
  }
}

/** Resolves when the response can take more, rejects when the stream is aborted or closed first. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: unknown) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('the client closed the stream'));
    const onAbort = () => done(signal.reason);
    res.once('drain', onDrain);
    res.once('close', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    size += (part as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts);
}
