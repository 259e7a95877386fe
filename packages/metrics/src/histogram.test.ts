import { describe, expect, it } from 'vitest';
import { emptyBuckets, histogramSamples } from './histogram.js';

describe('histogramSamples', () => {
  it('turns per-bucket counts into cumulative buckets, +Inf, sum and count', () => {
    const samples = histogramSamples(
      'h',
      { op: 'encap' },
      { bounds: [1, 2, 4], counts: [3, 0, 2, 1], sum: 17 },
    );
    expect(samples).toEqual([
      { metricName: 'h_bucket', labels: { op: 'encap', le: 1 }, value: 3 },
      { metricName: 'h_bucket', labels: { op: 'encap', le: 2 }, value: 3 },
      { metricName: 'h_bucket', labels: { op: 'encap', le: 4 }, value: 5 },
      { metricName: 'h_bucket', labels: { op: 'encap', le: '+Inf' }, value: 6 },
      { metricName: 'h_sum', labels: { op: 'encap' }, value: 17 },
      { metricName: 'h_count', labels: { op: 'encap' }, value: 6 },
    ]);
  });

  it('accepts typed arrays and treats missing trailing counts as 0', () => {
    const samples = histogramSamples('h', {}, { bounds: [1, 2], counts: new Float64Array([1, 1]), sum: 3 });
    expect(samples.at(-1)).toEqual({ metricName: 'h_count', labels: {}, value: 2 });
  });

  it('prints bounds without floating-point noise', () => {
    const samples = histogramSamples('h', {}, { bounds: [0.1 + 0.2], counts: [0, 0], sum: 0 });
    expect(samples[0].labels?.le).toBe(0.3);
  });

  it('emptyBuckets gives zeros for every bound', () => {
    const samples = histogramSamples('h', {}, emptyBuckets([1, 2]));
    expect(samples.every((s) => s.value === 0)).toBe(true);
    expect(samples).toHaveLength(5);
  });
});
