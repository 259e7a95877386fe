import { describe, expect, it } from 'vitest';
import { parseExposition } from './parse.js';

describe('parseExposition', () => {
  it('reads names, escaped labels and special values; skips comments and junk', () => {
    const text = [
      '# HELP x_total help',
      '# TYPE x_total counter',
      'x_total{peer="10.244.1.0/24",direction="tx"} 42',
      'weird{a="q\\"uote\\\\back\\nline"} 1.5e3 1700000000000',
      'plain 7',
      'h_bucket{le="+Inf"} +Inf',
      'not a metric line {',
      'broken{a="x} 1',
      '',
    ].join('\n');
    expect(parseExposition(text)).toEqual([
      { name: 'x_total', labels: { peer: '10.244.1.0/24', direction: 'tx' }, value: 42 },
      { name: 'weird', labels: { a: 'q"uote\\back\nline' }, value: 1500 },
      { name: 'plain', labels: {}, value: 7 },
      { name: 'h_bucket', labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY },
    ]);
  });
});
