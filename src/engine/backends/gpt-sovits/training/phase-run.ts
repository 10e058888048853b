/**
 * One run of a training phase's script with checkpoint selection: follows its output for
 * progress, finds each epoch's weights as they are saved, has every epoch exported, spoken and
 * scored (one at a time, in epoch order), keeps the best, and stops the script early once the
 * score stops improving. What differs between the phases comes from their TrainingPhase record.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendError } from '../../../backend.ts';
import type { PcmChunk } from '../../../pcm.ts';
import type { Dataset } from './dataset.ts';
import type { VoiceGraphBytes } from './export-step.ts';
import type { TrainerEvent } from './log-parsers.ts';
import type { ResolvedTrainingOptions } from './options.ts';
import type { TrainingPhase } from './phases.ts';
import { scorePairs } from './scoring.ts';
import type { CheckpointScore } from './scoring.ts';
import { CheckpointSelector } from './selection.ts';

/** A phase's chosen checkpoint, with its export when it was scored. */
export interface Exported {
  readonly checkpoint: string;
  readonly dir: string | null;
  readonly graphs: VoiceGraphBytes | null;
  readonly score: CheckpointScore | null;
}

/** What a phase run needs of the training run around it. */
export interface PhaseRunContext {
  readonly options: ResolvedTrainingOptions;
  readonly exportsDir: string;
  readonly weightsDir: string;
  readonly dataset: Dataset | null;
  readonly signal: AbortSignal;
  readonly metrics: Record<string, number>;
  export(gptCheckpoint: string, sovitsCheckpoint: string, label: string): Promise<VoiceGraphBytes>;
  synthesize(graphs: VoiceGraphBytes, sentences: readonly string[], language: string, signal: AbortSignal): Promise<PcmChunk[]>;
  report(within: number, detail: Record<string, number | string>): void;
}

export class PhaseRun {
  readonly #phase: TrainingPhase;
  /** The other phase's checkpoint each epoch is exported with. */
  readonly #partner: string;
  readonly #c: PhaseRunContext;
  readonly #epochs: number;
  readonly #selector: CheckpointSelector<Exported>;
  /** Epochs whose weights were found. */
  readonly #seen = new Set<number>();
  readonly #started = performance.now();
  #last: { epoch: number; checkpoint: string } | null = null;
  /** Evaluations run one after another, in epoch order. */
  #evaluations: Promise<void> = Promise.resolve();
  #evalError: unknown = null;
  #earlyStopped = false;
  #epoch = 0;
  #epochsStarted = 0;
  #loss = NaN;
  #firstProgressAt: number | null = null;
  #stopScript: () => void = () => {};

  constructor(phase: TrainingPhase, partner: string, context: PhaseRunContext) {
    this.#phase = phase;
    this.#partner = partner;
    this.#c = context;
    this.#epochs = phase.epochs(context.options);
    this.#selector = new CheckpointSelector<Exported>(context.options.patience, context.options.minImprovement);
  }

  /** Progress at the start, before the script prints anything. */
  begin(stopScript: () => void): void {
    this.#stopScript = stopScript;
    this.#c.report(0, { phase: this.#phase.name, epoch: 0, epochs: this.#epochs });
  }

  /** One line of the script's output. */
  onLine(line: string): void {
    for (const event of this.#phase.parse(line)) this.#onEvent(event);
  }

  /** Whether a non-zero exit is ours: the script was stopped early, or an evaluation failed. */
  get stoppedByUs(): boolean {
    return this.#earlyStopped || Boolean(this.#evalError);
  }

  /** After the script exited: the last weights, the last evaluations, and the phase's choice. */
  async finish(): Promise<Exported> {
    const name = this.#phase.name;
    await this.#scan();
    await this.#evaluations;
    if (this.#evalError) throw this.#evalError;
    this.#c.metrics[`${name}EpochsRun`] = Math.max(this.#seen.size, 0);
    this.#c.metrics[`${name}EarlyStopped`] = this.#earlyStopped ? 1 : 0;
    const best = this.#selector.best;
    if (best) {
      this.#c.metrics[`${name}BestEpoch`] = best.epoch;
      return best.item;
    }
    const final = this.#last;
    if (!final) throw new BackendError('training_failed', `${this.#phase.scriptName} saved no checkpoint`);
    this.#c.metrics[`${name}BestEpoch`] = final.epoch;
    return { checkpoint: final.checkpoint, dir: null, graphs: null, score: null };
  }

  #onEvent(ev: TrainerEvent): void {
    if (ev.type === 'loss') this.#loss = ev.loss;
    // s2 writes its weights before it logs "saving ckpt"/"====> Epoch" (not atomically, so never
    // scan earlier); s1 writes via a temporary file and a rename before the next epoch begins.
    else if (ev.type === 'checkpoint_saved' || ev.type === 'epoch_done') void this.#scan();
    else if (ev.type === 'epoch_progress') {
      this.#firstProgressAt ??= performance.now();
      if (ev.epoch !== this.#epoch) {
        this.#epoch = ev.epoch;
        this.#epochsStarted++;
        void this.#scan(); // the previous epoch's weights are complete by now
      }
      const done = Math.max(0, this.#epoch - 1 + ev.fraction);
      const perEpoch = this.#epochsStarted > 1 ? (performance.now() - this.#started) / 1000 / Math.max(done, 1e-3) : NaN;
      const remaining = this.#epochs - done + this.#phase.epochsAfter(this.#c.options);
      const detail: Record<string, number | string> = { phase: this.#phase.name, epoch: this.#epoch, epochs: this.#epochs };
      if (Number.isFinite(this.#loss)) detail['loss'] = Math.round(this.#loss * 1000) / 1000;
      if (Number.isFinite(perEpoch)) detail['etaSeconds'] = Math.round(perEpoch * remaining);
      this.#c.report(done / this.#epochs, detail);
    }
  }

  async #scan(): Promise<void> {
    const dir = this.#c.weightsDir;
    const names = await readdir(dir).catch(() => [] as string[]);
    const found = names
      .map((n) => ({ n, m: this.#phase.checkpoint.exec(n) }))
      .filter((x) => x.m)
      .map((x) => ({ n: x.n, e: Number(x.m![1]) }))
      .sort((a, b) => a.e - b.e);
    for (const f of found) this.#saved(f.e, join(dir, f.n));
  }

  #saved(e: number, checkpoint: string): void {
    if (this.#seen.has(e)) return;
    this.#seen.add(e);
    this.#last = { epoch: e, checkpoint };
    // One epoch's training time, without process start-up and model loading (benchmarks).
    if (e === 1 && this.#firstProgressAt !== null) this.#c.metrics[`${this.#phase.name}Epoch1Seconds`] = (performance.now() - this.#firstProgressAt) / 1000;
    if ((this.#c.dataset?.heldOut ?? []).length === 0) return;
    this.#evaluations = this.#evaluations
      .then(() => this.#evaluate(e, checkpoint))
      .catch((error: unknown) => {
        this.#evalError ??= error;
        this.#stopScript();
      });
  }

  async #evaluate(e: number, checkpoint: string): Promise<void> {
    const { signal, exportsDir } = this.#c;
    const selector = this.#selector;
    if (this.#evalError || selector.shouldStop() || signal.aborted) return;
    const heldOut = this.#c.dataset?.heldOut ?? [];
    const pair = this.#phase.pair(checkpoint, this.#partner);
    const label = `${this.#phase.name}-e${e}`;
    const graphs = await this.#c.export(pair.gpt, pair.sovits, label);
    const spoken = await this.#c.synthesize(
      graphs,
      heldOut.map((h) => h.text),
      this.#c.dataset?.language ?? 'en',
      signal,
    );
    const score = await scorePairs(
      heldOut.map((h, i) => ({ reference: h.pcm, synthesized: spoken[i] ?? { samples: new Float32Array(0), sampleRate: h.pcm.sampleRate } })),
      this.#c.options.speakerEmbedding ?? null,
      signal,
    );
    const previous = selector.best;
    const improved = selector.add({ epoch: e, score: score.score, item: { checkpoint, dir: join(exportsDir, label), graphs, score } });
    this.#c.metrics[`${this.#phase.name}ScoreE${e}`] = Math.round(score.score * 1000) / 1000;
    // Keep only the best export on disk; a checkpoint that lost is deleted at once.
    await rm(improved ? (previous?.item.dir ?? '') || join(exportsDir, '.none') : join(exportsDir, label), { recursive: true, force: true });
    if (!improved && selector.best) await rm(checkpoint, { force: true });
    if (selector.shouldStop() && e < this.#epochs) {
      this.#earlyStopped = true;
      this.#stopScript();
    }
  }
}
