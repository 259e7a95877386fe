// A reader for the Prometheus text exposition format, just enough for tests to look up samples by name
// and labels. `promtool check metrics` does the strict validation; this only has to read what it accepts.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL_PAIR.lastIndex = 0;
  let consumed = 0;
  for (let m = LABEL_PAIR.exec(text); m !== null; m = LABEL_PAIR.exec(text)) {
    labels[m[1]] = unescapeLabel(m[2]);
    consumed = LABEL_PAIR.lastIndex;
  }
  if (consumed !== text.length) throw new Error(`metrics: cannot read labels in line: ${line}`);
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

export class MetricsSnapshot {
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.samples = [];
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = SAMPLE_LINE.exec(line);
      if (!m) throw new Error(`metrics: cannot read line: ${line}`);
      this.samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value: parseValue(m[3]) });
    }
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
