import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatInstant, formatTable } from './format.js';

describe('format helpers', () => {
  it('aligns table columns, numbers to the right', () => {
    const table = formatTable(
      [{ header: 'NAME' }, { header: 'COUNT', align: 'right' }],
      [
        ['a', '5'],
        ['longer', '12345'],
      ],
    );
    expect(table).toBe(['NAME    COUNT', 'a           5', 'longer  12345'].join('\n'));
  });

  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50.0 MiB');
  });

  it('formats durations and instants', () => {
    expect(formatDuration(45.9)).toBe('45s');
    expect(formatDuration(90_061)).toBe('1d1h1m');
    expect(formatDuration(-3)).toBe('0s');
    const now = Date.UTC(2026, 0, 1);
    expect(formatInstant(now + 3_600_000, now)).toBe('2026-01-01T01:00:00Z (in 1h)');
    expect(formatInstant(now - 120_000, now)).toBe('2025-12-31T23:58:00Z (2m ago)');
  });
});
