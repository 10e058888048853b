/** One figure a benchmark reports. Benchmarks report; they never assert. */
export interface BenchFigure {
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The target the issue names, for the reader's comparison (e.g. "<= 0.5 s"). */
  readonly target?: string;
}

export interface BenchOptions {
  /** Extra arguments after `npm run bench -- <suite>`, e.g. `--models DIR`. */
  readonly args: readonly string[];
}

export interface BenchSuite {
  readonly name: string;
  run(options: BenchOptions): Promise<BenchFigure[]>;
}
