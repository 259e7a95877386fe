/**
 * A dependency-free SVG chart: two panels of horizontal bars, single-stream TCP Gbit/s (with the
 * min–max range as a whisker) and 64-byte UDP kpps received, one row per case; felt's bars highlighted.
 */
import { machineSummary } from '../lib/machine.js';

const COLORS = { baseline: '#9aa0a6', kernel: '#5b7db1', c: '#8d99ae', felt: '#e8590c' };
const ROW = 28;
const LABEL_W = 210;
const PANEL_W = 330;
const GAP = 40;
const TOP = 58;

const esc = (s) =>
  String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);

/** A "nice" axis: maximum ≥ value of 1, 2, 2.5 or 5 times a power of ten, split into round ticks. */
function niceAxis(value) {
  const v = value > 0 ? value : 1;
  const pow = 10 ** Math.floor(Math.log10(v));
  for (const [step, divisions] of [
    [1, 5],
    [2, 4],
    [2.5, 5],
    [5, 5],
    [10, 5],
  ]) {
    if (step * pow >= v) return { max: step * pow, divisions };
  }
  return { max: 10 * pow, divisions: 5 };
}

function panel(cases, x0, title, metricOf, rangeOf, format) {
  const values = cases.map(metricOf).filter((v) => v !== null);
  const ranges = cases
    .map(rangeOf)
    .filter(Boolean)
    .map((r) => r[1]);
  const { max, divisions } = niceAxis(Math.max(0, ...values, ...ranges));
  const scale = (v) => (v / max) * PANEL_W;
  const out = [`<text x="${x0}" y="${TOP - 22}" class="h">${esc(title)}</text>`];
  for (let i = 0; i <= divisions; i++) {
    const x = x0 + (PANEL_W * i) / divisions;
    const height = cases.length * ROW;
    out.push(`<line x1="${x}" y1="${TOP - 4}" x2="${x}" y2="${TOP + height}" class="grid"/>`);
    const tick = Number(((max * i) / divisions).toPrecision(6));
    out.push(`<text x="${x}" y="${TOP + height + 14}" class="tick">${tick}</text>`);
  }
  cases.forEach((c, i) => {
    const y = TOP + i * ROW + 4;
    const v = metricOf(c);
    if (v === null) {
      out.push(`<text x="${x0 + 4}" y="${y + 15}" class="na">${esc(c.status)}</text>`);
      return;
    }
    const w = Math.max(1, scale(v));
    const color = COLORS[c.group] ?? COLORS.c;
    out.push(`<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 10}" fill="${color}"/>`);
    const range = rangeOf(c);
    if (range && range[1] > range[0]) {
      const [lo, hi] = range.map((r) => x0 + scale(r));
      const mid = y + (ROW - 10) / 2;
      out.push(
        `<path d="M${lo.toFixed(1)} ${mid}H${hi.toFixed(1)}M${lo.toFixed(1)} ${mid - 4}v8M${hi.toFixed(1)} ${mid - 4}v8" class="whisker"/>`,
      );
    }
    const labelX = x0 + Math.max(w, range ? scale(range[1]) : 0) + 4;
    out.push(
      `<text x="${labelX.toFixed(1)}" y="${y + 13}" class="v${c.group === 'felt' ? ' felt' : ''}">${esc(format(v))}</text>`,
    );
  });
  return out.join('\n');
}

export function renderChart(report) {
  const cases = report.cases;
  const height = TOP + cases.length * ROW + 58;
  const width = LABEL_W + 2 * PANEL_W + GAP + 70;
  const tcpX = LABEL_W;
  const udpX = LABEL_W + PANEL_W + GAP + 30;
  const labels = cases.map((c, i) => {
    const y = TOP + i * ROW + 17;
    return `<text x="${LABEL_W - 8}" y="${y}" class="label${c.group === 'felt' ? ' felt' : ''}">${esc(c.label)}</text>`;
  });
  const tcp = panel(
    cases,
    tcpX,
    'TCP, 1 stream (Gbit/s, median; whisker = min–max)',
    (c) => c.tcp?.gbps.median ?? null,
    (c) => (c.tcp ? [c.tcp.gbps.min, c.tcp.gbps.max] : null),
    (v) => (v >= 1 ? v.toFixed(1) : v.toFixed(2)),
  );
  const udp = panel(
    cases,
    udpX,
    'UDP, 64 B payloads (kpps received, median)',
    (c) => (c.udp ? c.udp.pps.median / 1000 : null),
    (c) => (c.udp ? [c.udp.pps.min / 1000, c.udp.pps.max / 1000] : null),
    (v) => v.toFixed(0),
  );
  const caption = `${report.date} · ${machineSummary(report.machine)} · node ${report.machine.versions.node}${report.plan.quick ? ' · quick mode' : ''}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
text{font-size:12px;fill:#222}.h{font-weight:bold;font-size:13px}.label{text-anchor:end}.felt{font-weight:bold;fill:#b8430a}
.tick{font-size:10px;fill:#666;text-anchor:middle}.v{font-size:11px}.na{font-size:11px;font-style:italic;fill:#888}
.grid{stroke:#e3e3e3;stroke-width:1}.whisker{stroke:#333;stroke-width:1;fill:none}.cap{font-size:11px;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" class="h">felt vs kernel and C userspace tunnels, two namespaces on a veth pair</text>
${labels.join('\n')}
${tcp}
${udp}
<text x="10" y="${height - 12}" class="cap">${esc(caption)}</text>
</svg>
`;
}
