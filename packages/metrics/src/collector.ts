// A metric whose samples are computed from plain numbers at scrape time, registered directly in a
// prom-client Registry (which accepts any object with name/help/type/get/reset). This is how hot-path
// counters are exported without a prom-client call per packet.
import type { Metric, Registry } from 'prom-client';

export type LabelSet = Record<string, string | number>;

export interface Sample {
  value: number;
  labels?: LabelSet;
  /** Full series name for histogram parts (`_bucket`, `_sum`, `_count`); defaults to the metric name. */
  metricName?: string;
}

export type ScrapeMetricType = 'counter' | 'gauge' | 'histogram';

export interface ScrapeMetricSpec {
  name: string;
  help: string;
  type: ScrapeMetricType;
  samples: () => Sample[];
}

class ScrapeMetric {
  name: string;
  readonly help: string;
  readonly type: ScrapeMetricType;
  readonly aggregator = 'sum';
  readonly #samples: () => Sample[];

  constructor(spec: ScrapeMetricSpec) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = spec.type;
    this.#samples = spec.samples;
  }

  get() {
    const values = this.#samples().map((s) => ({
      value: s.value,
      labels: s.labels ?? {},
      metricName: s.metricName,
    }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Values live in their sources; nothing to reset here. */
  reset(): void {}
}

export function registerScrapeMetric(registry: Registry, spec: ScrapeMetricSpec): void {
  // prom-client's typings only admit its own classes; its registry duck-types (get, reset, name, help, type).
  registry.registerMetric(new ScrapeMetric(spec) as unknown as Metric);
}

/**
 * Calls `read` at most once per scrape: prom-client asks every metric for its values synchronously in
 * one turn, so the cached value is dropped in the next microtask.
 */
export function oncePerScrape<T>(read: () => T): () => T {
  let cached: { value: T } | null = null;
  return () => {
    if (cached === null) {
      cached = { value: read() };
      queueMicrotask(() => {
        cached = null;
      });
    }
    return cached.value;
  };
}
