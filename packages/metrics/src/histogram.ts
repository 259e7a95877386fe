// Prometheus histogram series (cumulative `_bucket{le}`, `_sum`, `_count`) from non-cumulative bucket counts.
import type { LabelSet, Sample } from './collector.js';
import type { BucketCounts } from './sources.js';

/** Bounds computed in floating point (1e-6 * 4 ** k) print without binary noise. */
function leLabel(bound: number): number {
  return Number(bound.toPrecision(12));
}

export function histogramSamples(name: string, labels: LabelSet, histogram: BucketCounts): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  histogram.bounds.forEach((bound, i) => {
    cumulative += histogram.counts[i] ?? 0;
    samples.push({
      metricName: `${name}_bucket`,
      labels: { ...labels, le: leLabel(bound) },
      value: cumulative,
    });
  });
  cumulative += histogram.counts[histogram.bounds.length] ?? 0;
  samples.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  samples.push({ metricName: `${name}_sum`, labels, value: histogram.sum });
  samples.push({ metricName: `${name}_count`, labels, value: cumulative });
  return samples;
}

/** An empty histogram with the given bounds, exported before the source has data. */
export function emptyBuckets(bounds: readonly number[]): BucketCounts {
  return { bounds, counts: new Array(bounds.length + 1).fill(0), sum: 0 };
}
