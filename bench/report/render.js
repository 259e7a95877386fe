#!/usr/bin/env node
/**
 * Re-renders a saved run without measuring again: `node bench/report/render.js bench/results/<date>.json`
 * prints its markdown and rewrites the SVG next to it (e.g. after a change to the chart).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderChart } from './chart.js';
import { markdownReport } from './table.js';

const file = process.argv[2];
if (!file?.endsWith('.json')) {
  process.stderr.write('usage: node bench/report/render.js bench/results/<date>.json\n');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
writeFileSync(file.replace(/\.json$/, '.svg'), renderChart(report));
process.stdout.write(markdownReport(report));
