import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, in one registry of its own (no global default registry). */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly queueDepth: Gauge;
  readonly jobDuration: Histogram;
  readonly jobsFinished: Counter;
  readonly activeStreams: Gauge;
  readonly revocations: Counter;

  constructor(sources: { queueCounts: () => Promise<Record<string, number>>; activeStreams: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'vocalis_' });
    this.queueDepth = new Gauge({
      name: 'vocalis_queue_jobs',
      help: 'Fine-tune jobs in the queue by state',
      labelNames: ['state'],
      registers: [this.registry],
      async collect() {
        const counts = await sources.queueCounts().catch(() => ({}));
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    this.jobDuration = new Histogram({
      name: 'vocalis_job_duration_seconds',
      help: 'Fine-tune job duration',
      labelNames: ['backend', 'outcome'],
      buckets: [1, 5, 15, 30, 60, 300, 900, 1800, 3600],
      registers: [this.registry],
    });
    this.jobsFinished = new Counter({ name: 'vocalis_jobs_finished_total', help: 'Finished jobs', labelNames: ['outcome'], registers: [this.registry] });
    this.activeStreams = new Gauge({
      name: 'vocalis_active_streams',
      help: 'Synthesis streams in progress',
      registers: [this.registry],
      collect() {
        this.set(sources.activeStreams());
      },
    });
    this.revocations = new Counter({
      name: 'vocalis_revocations_total',
      help: 'Consents revoked or expired',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
  }
}
