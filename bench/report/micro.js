/**
 * Markdown for the micro-benchmark results. Scripts print JSON in their own shape, so this renders
 * generically: top-level scalars as a line, each array of objects as a table (one row per object,
 * its numeric fields as the result), each object of numbers as a one-row table, `notes` as a list.
 */
const NAME_KEYS = ['label', 'name', 'mode', 'task', 'id'];
const MAX_FIELDS = 8;

const number = (v) =>
  Number.isInteger(v) || Math.abs(v) >= 1000 ? String(Math.round(v)) : String(Number(v.toPrecision(4)));

function fieldsOf(row) {
  return Object.entries(row)
    .filter(([k, v]) => typeof v === 'number' || (typeof v === 'string' && !NAME_KEYS.includes(k)))
    .slice(0, MAX_FIELDS)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? number(v) : v}`)
    .join(', ');
}

function rowName(row, index) {
  for (const key of NAME_KEYS)
    if (typeof row[key] === 'string' || typeof row[key] === 'number') return row[key];
  return `#${index + 1}`;
}

const cell = (text) => String(text).replace(/\|/g, '/').replace(/\n/g, ' ');

function table(title, rows) {
  const lines = rows.map((row, i) => `| ${cell(rowName(row, i))} | ${cell(fieldsOf(row))} |`);
  return `\n| ${cell(title)} | result |\n|---|---|\n${lines.join('\n')}`;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function render(entry) {
  const { data } = entry;
  const header = `\n\`${entry.file}\` (${entry.seconds.toFixed(0)} s)`;
  if (Array.isArray(data)) return `${header}\n${table('benchmark', data.filter(isPlainObject))}`;
  if (!isPlainObject(data)) return `${header}: \`${cell(JSON.stringify(data)).slice(0, 300)}\``;
  const scalars = Object.entries(data).filter(
    ([k, v]) => k !== 'notes' && ['string', 'number', 'boolean'].includes(typeof v),
  );
  const parts = [
    header +
      (scalars.length
        ? `: ${scalars.map(([k, v]) => `${k} ${typeof v === 'number' ? number(v) : v}`).join(', ')}`
        : ''),
  ];
  for (const [key, value] of Object.entries(data)) {
    if (Array.isArray(value) && value.some(isPlainObject))
      parts.push(table(key, value.filter(isPlainObject)));
    else if (isPlainObject(value)) parts.push(table(key, [{ label: key, ...value }]));
  }
  if (Array.isArray(data.notes)) parts.push(`\n${data.notes.map((n) => `- ${cell(n)}`).join('\n')}`);
  return parts.join('\n');
}

export function microSection(entries) {
  const parts = [];
  for (const e of entries) {
    if (e.status === 'ok') parts.push(render(e));
    else if (e.status !== 'helper') parts.push(`\n- \`${e.file}\`: ${e.status} — ${cell(e.reason)}`);
  }
  return parts.join('\n');
}
