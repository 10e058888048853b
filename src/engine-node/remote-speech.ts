import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import type { ConsentTicket } from '../consent/consent-gate.ts';
import type { PreparationTarget, SpeechRequester, SpeechSynthesis, VoicePreparation } from '../core/ports.ts';
import { VocalisError } from '../core/user-facing-error.ts';
import type { PreparedSample } from '../engine/backend.ts';
import type { PcmChunk } from '../engine/pcm.ts';
import type { SpeechOptions, VoiceTarget } from '../engine/speech-engine.ts';
import type { Logger } from '../observability/logger.ts';
import { parseEngineAddress } from './engine-address.ts';
import type { EngineNode, NodeDirectory } from './node-directory.ts';
import { signRequest } from './request-auth.ts';
import { encodePrepareRequest, PREPARE_PATH } from './prepare-request.ts';
import { encodeSpeakRequest, SPEAK_PATH } from './speak-request.ts';
import { fromWireError } from './wire-errors.ts';
import { FRAME_CONTENT_TYPE, FrameDecoder, WireFormatError, type Frame } from './wire-format.ts';

export interface RemoteTimeouts {
  /** From sending the request to the node's answer (it answers before synthesis starts). */
  readonly answerMs: number;
  /** The longest silence while waiting for the next frame; the node sends keepalives every second. */
  readonly idleMs: number;
}

const DEFAULT_TIMEOUTS: RemoteTimeouts = { answerMs: 3000, idleMs: 5000 };

/** A node failed in a way another node may not: unreachable, refused to serve now, or broke its stream. */
class NodeFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeFailure';
  }
}

interface OpenCall {
  readonly req: ClientRequest;
  readonly res: IncomingMessage;
  readonly nonce: string;
}

/**
 * Synthesis on engine nodes (VOCALIS_ENGINE=remote): the core's `SpeechSynthesis` port over
 * the network. The voice's node is the first in its rendezvous order among the live nodes;
 * a node that cannot be reached or fails before any audio was handed on is passed over for
 * the next. A stream broken mid-utterance ends with `engine_node_lost`, never a silent
 * truncation. The bot's own ticket is checked before each chunk is handed on, as in process,
 * and its end (or the caller's signal) aborts the request, which stops the node's synthesis.
 */
export class RemoteSpeech implements SpeechSynthesis, VoicePreparation {
  readonly #directory: NodeDirectory;
  readonly #secret: string;
  readonly #logger: Logger;
  readonly #timeouts: RemoteTimeouts;
  // Keep-alive: a /speak after the first reuses the connection (no handshake before the first packet).
  readonly #agent: Agent;
  readonly #request: typeof request;
  #active = 0;

  /** `tlsCa`: the nodes serve TLS; verify their certificates with this CA (PEM). */
  constructor(deps: { directory: NodeDirectory; secret: string; logger: Logger; timeouts?: Partial<RemoteTimeouts>; tlsCa?: Buffer }) {
    this.#directory = deps.directory;
    this.#secret = deps.secret;
    this.#logger = deps.logger;
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...deps.timeouts };
    this.#agent = deps.tlsCa ? new TlsAgent({ keepAlive: true, ca: deps.tlsCa }) : new Agent({ keepAlive: true });
    this.#request = deps.tlsCa ? tlsRequest : request;
  }

  get activeStreams(): number {
    return this.#active;
  }

  async *stream(target: VoiceTarget, options: SpeechOptions, ticket: ConsentTicket, who: SpeechRequester): AsyncGenerator<PcmChunk> {
    ticket.watch();
    const signal = options.signal ? AbortSignal.any([ticket.signal, options.signal]) : ticket.signal;
    this.#active++;
    try {
      const { signal: _, ...synthesis } = options;
      const body = encodeSpeakRequest({ target, options: synthesis, requester: who.requester, context: who.context });
      let handedOn = 0;
      for (const node of await this.#nodesFor(target.voiceId)) {
        signal.throwIfAborted();
        try {
          const call = await this.#open(node, SPEAK_PATH, body, signal);
          this.#logger.debug({ nodeId: node.nodeId, voiceId: target.voiceId }, 'engine node serving');
          try {
            for await (const frame of this.#frames(call, signal)) {
              if (frame.type === 'end') return;
              if (frame.type === 'error') {
                const error = fromWireError(frame.error);
                // A node shutting down ends its streams with this code: like a broken stream, another node may serve.
                if (error instanceof VocalisError && error.code === 'engine_node_lost') throw new NodeFailure('the node ended the stream as it stopped');
                throw error;
              }
              if (frame.type !== 'audio') continue;
              signal.throwIfAborted();
              ticket.check();
              handedOn++;
              yield frame.chunk;
            }
          } finally {
            call.req.destroy();
          }
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (!(error instanceof NodeFailure)) throw error;
          this.#directory.suspect(node);
          this.#logger.warn({ nodeId: node.nodeId, reason: error.message, midUtterance: handedOn > 0 }, 'engine node failed');
          if (handedOn > 0) throw new VocalisError('engine_node_lost', 'the engine node went away mid-utterance');
        }
      }
      throw new VocalisError('engine_unavailable', 'no engine node could serve this voice');
    } finally {
      this.#active--;
      ticket.release();
    }
  }

  /**
   * Prepares a preview voice on the voice's node (where it will be loaded to speak): the node reads
   * the consented sample and writes the version's files itself. Nothing is handed on before the
   * answer, so any node failure moves the request to the next node.
   */
  async prepare(target: PreparationTarget, signal: AbortSignal): Promise<PreparedSample> {
    const body = encodePrepareRequest(target);
    for (const node of await this.#nodesFor(target.voiceId)) {
      signal.throwIfAborted();
      try {
        const call = await this.#open(node, PREPARE_PATH, body, signal);
        try {
          for await (const frame of this.#frames(call, signal)) {
            if (frame.type === 'prepared') return { zeroShot: frame.zeroShot };
            if (frame.type === 'error') {
              const error = fromWireError(frame.error);
              if (error instanceof VocalisError && error.code === 'engine_node_lost') throw new NodeFailure('the node ended the request as it stopped');
              throw error;
            }
          }
        } finally {
          call.req.destroy();
        }
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof NodeFailure)) throw error;
        this.#directory.suspect(node);
        this.#logger.warn({ nodeId: node.nodeId, reason: error.message }, 'engine node failed');
      }
    }
    throw new VocalisError('engine_unavailable', 'no engine node could prepare this voice');
  }

  /** Stops reusing connections (the runtime closes). */
  close(): void {
    this.#agent.destroy();
  }

  /** The voice's nodes, best first; Redis out of reach is "no node", the same answer to the user. */
  async #nodesFor(voiceId: string): Promise<EngineNode[]> {
    try {
      return await this.#directory.forVoice(voiceId);
    } catch (error) {
      this.#logger.error({ err: error }, 'could not read the engine nodes from Redis');
      throw new VocalisError('engine_unavailable', 'the engine node directory could not be read');
    }
  }

  #open(node: EngineNode, path: string, body: Buffer, signal: AbortSignal): Promise<OpenCall> {
    let address: { host: string; port: number };
    try {
      address = parseEngineAddress(node.address);
    } catch (error) {
      return Promise.reject(new NodeFailure('the node registered an unusable address', { cause: error }));
    }
    const headers = signRequest(this.#secret, { method: 'POST', path, nodeId: node.nodeId, body });
    const nonce = headers['x-vocalis-nonce']!;
    return new Promise<OpenCall>((resolve, reject) => {
      const req = this.#request({
        host: address.host,
        port: address.port,
        method: 'POST',
        path,
        agent: this.#agent,
        signal,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(body.length) },
      });
      const timer = setTimeout(() => req.destroy(new NodeFailure('no answer in time')), this.#timeouts.answerMs);
      req.once('response', (res) => {
        clearTimeout(timer);
        if (res.statusCode === 200 && res.headers['content-type'] === FRAME_CONTENT_TYPE) return resolve({ req, res, nonce });
        res.resume();
        req.destroy();
        if (res.statusCode === 401) {
          // A configuration error (secrets differ) or a clock far off: the operator must act, the user gets the apology.
          this.#logger.error({ nodeId: node.nodeId }, 'engine node refused our signature: check VOCALIS_ENGINE_SECRET and the clocks');
          return reject(new Error('the engine node refused the request signature'));
        }
        reject(new NodeFailure(`the node answered ${res.statusCode}`));
      });
      req.once('error', (error) => {
        clearTimeout(timer);
        reject(
          error instanceof NodeFailure ? error : new NodeFailure(`request failed: ${(error as NodeJS.ErrnoException).code ?? error.name}`, { cause: error }),
        );
      });
      req.end(body);
    });
  }

  /** The frames of one response; a silence, a cut, or a frame that fails its MAC is a NodeFailure. */
  async *#frames(call: OpenCall, signal: AbortSignal): AsyncGenerator<Frame> {
    const decoder = new FrameDecoder(this.#secret, call.nonce);
    const bytes = call.res[Symbol.asyncIterator]();
    for (;;) {
      let frame: Frame | undefined;
      try {
        frame = decoder.next();
      } catch (error) {
        if (error instanceof WireFormatError) throw new NodeFailure(error.message);
        throw error;
      }
      if (frame) {
        if (frame.type !== 'keepalive') yield frame;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const silence = new Promise<'silent'>((resolve) => {
        timer = setTimeout(() => resolve('silent'), this.#timeouts.idleMs);
      });
      let step: IteratorResult<Buffer> | 'silent';
      try {
        step = await Promise.race([bytes.next() as Promise<IteratorResult<Buffer>>, silence]);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new NodeFailure('the connection broke', { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (step === 'silent') throw new NodeFailure(`no frame for ${this.#timeouts.idleMs} ms`);
      if (step.done) throw new NodeFailure('the stream ended without its end frame');
      decoder.push(step.value);
    }
  }
}
