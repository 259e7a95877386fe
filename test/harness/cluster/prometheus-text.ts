// Looking up samples of a node's /metrics by name and labels. Reading the text is @felt/metrics'
// parseExposition (the reader feltctl uses); `promtool check metrics` does the strict validation.
import { type ExposedSample, parseExposition } from '@felt/metrics';

export type Sample = ExposedSample;

export class MetricsSnapshot {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = parseExposition(text);
  }

  /** Samples of `name` whose labels include every pair of `match`. */
  find(name: string, match: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
    );
  }

  has(name: string, match: Record<string, string> = {}): boolean {
    return this.find(name, match).length > 0;
  }

  /** Sum over the matching samples; 0 when there are none (counters start at 0). */
  sum(name: string, match: Record<string, string> = {}): number {
    return this.find(name, match).reduce((total, s) => total + s.value, 0);
  }
}
