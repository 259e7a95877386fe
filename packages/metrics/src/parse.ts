// A small reader for the Prometheus text exposition format (0.0.4), enough for feltctl and tests to look
// at a node's /metrics without a Prometheus server. Comments and malformed lines are skipped.

export interface ExposedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_HEAD = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)/;

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN' || text === 'Nan') return Number.NaN;
  return text.trim() === '' ? Number.NaN : Number(text);
}

/** Parses `{a="x",b="y\"z"}` starting at `start` (the `{`); returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | null {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') return null;
    const name = line.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] === '\\' && j + 1 < line.length) {
        j++;
        value += line[j] === 'n' ? '\n' : line[j];
      } else value += line[j];
    }
    if (j >= line.length) return null;
    labels[name] = value;
    i = j + 1;
  }
  return null;
}

export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const head = SAMPLE_HEAD.exec(line);
    if (head === null) continue;
    const name = head[1];
    let labels: Record<string, string> = {};
    let rest = line.slice(name.length);
    if (head[2] === '{') {
      const parsed = parseLabels(line, name.length);
      if (parsed === null) continue;
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '');
    if (Number.isNaN(value) && !/NaN|Nan/.test(rest)) continue;
    samples.push({ name, labels, value });
  }
  return samples;
}
