// Parsers for flag values. Each takes the raw text and either returns the typed value or throws
// BadValue whose message says what is expected (the loader adds the flag name and the source).
import { isIPv4 } from 'node:net';

export class BadValue extends Error {}

export function parseBoolean(raw: string): boolean {
  const text = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off', ''].includes(text)) return false;
  throw new BadValue('expected true or false');
}

export function integerIn(min: number, max: number, unit: string): (raw: string) => number {
  return (raw) => {
    const text = raw.trim();
    if (!/^\d+$/.test(text)) throw new BadValue(`expected a whole number of ${unit} from ${min} to ${max}`);
    const value = Number(text);
    if (value < min || value > max) throw new BadValue(`expected ${unit} from ${min} to ${max}`);
    return value;
  };
}

/** Data-plane workers: 'auto' (chosen at start-up, see dataplane-workers.ts) or a count. */
export type WorkerCount = number | 'auto';

export function workerCountIn(max: number): (raw: string) => WorkerCount {
  const count = integerIn(1, max, 'workers');
  return (raw) => {
    if (raw.trim().toLowerCase() === 'auto') return 'auto';
    try {
      return count(raw);
    } catch {
      throw new BadValue(`expected 'auto' or a whole number of workers from 1 to ${max}`);
    }
  };
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '10s', '500ms', '1.5s', '2m', or plain seconds ('10'); returns milliseconds (> 0, at most 1 h). */
export function parseDurationMs(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(raw.trim());
  const expected = "expected a duration like '10s', '500ms' or plain seconds";
  if (!match) throw new BadValue(expected);
  const ms = Math.round(Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 's']);
  if (ms <= 0 || ms > 3_600_000) throw new BadValue(`${expected}, above 0 and at most 1h`);
  return ms;
}

export function parseIpv4(raw: string): string {
  const text = raw.trim();
  if (!isIPv4(text)) throw new BadValue('expected an IPv4 address such as 198.18.0.1');
  return text;
}

export interface HostPort {
  host: string;
  port: number;
}

/** 'host:port' (IPv4 or name, port 0..65535); empty text turns the listener off (null). */
export function parseListenAddress(raw: string): HostPort | null {
  const text = raw.trim();
  if (text === '') return null;
  const match = /^([^:\s]+):(\d{1,5})$/.exec(text);
  const expected = "expected host:port such as 127.0.0.1:9465, or '' to turn it off";
  if (!match) throw new BadValue(expected);
  const port = Number(match[2]);
  if (port > 65535) throw new BadValue(expected);
  return { host: match[1], port };
}

/** Linux interface names: 1..15 bytes, no '/', whitespace or ':'; not '.' or '..'. */
export function parseInterfaceName(raw: string): string {
  const text = raw.trim();
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(text) || text === '.' || text === '..') {
    throw new BadValue('expected an interface name of 1-15 letters, digits, ".", "-" or "_"');
  }
  return text;
}

/** Comma-separated http(s) URLs. */
export function parseEndpoints(raw: string): string[] {
  const items = splitList(raw);
  const expected = 'expected comma-separated URLs such as http://127.0.0.1:2379';
  if (items.length === 0) throw new BadValue(expected);
  for (const item of items) {
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw new BadValue(`${expected} ('${item}' is not a URL)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BadValue(`${expected} ('${item}' is not http or https)`);
    }
  }
  return items;
}

/** An absolute etcd key prefix; the trailing slash is dropped. */
export function parseEtcdPrefix(raw: string): string {
  const text = raw.trim().replace(/\/+$/, '');
  if (!text.startsWith('/') || /\s/.test(text)) {
    throw new BadValue('expected an absolute key prefix such as /coreos.com/network');
  }
  return text;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(raw: string): LogLevel {
  const text = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(text)) {
    throw new BadValue(`expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return text as LogLevel;
}

/** A path; empty means unset. */
export function parseOptionalPath(raw: string): string | null {
  const text = raw.trim();
  return text === '' ? null : text;
}

export function parseRequiredPath(raw: string): string {
  const text = raw.trim();
  if (text === '') throw new BadValue('expected a file path');
  return text;
}

export function parseOptionalText(raw: string): string | null {
  return raw === '' ? null : raw;
}

/** Interface names or IPv4 addresses, first match wins (comma-separated when from env or file). */
export function parseIfaceList(raw: string): string[] {
  const items = splitList(raw);
  for (const item of items) {
    if (!isIPv4(item)) parseInterfaceName(item);
  }
  return items;
}

export function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * flanneld compiles --iface-regex with Go's regexp: an unanchored search, flags only as a leading
 * group such as (?i). JavaScript has no inline flags on Node 20, so that group becomes RegExp flags.
 */
export function compileIfaceRegex(pattern: string): RegExp {
  const inline = /^\(\?([ims]+)\)/.exec(pattern);
  return inline ? new RegExp(pattern.slice(inline[0].length), inline[1]) : new RegExp(pattern);
}

/** --iface-regex patterns, one per line (repeated flags arrive joined by newlines). */
export function parseIfaceRegexList(raw: string): string[] {
  const patterns = raw
    .split('\n')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const pattern of patterns) {
    try {
      compileIfaceRegex(pattern);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new BadValue(`${JSON.stringify(pattern)} is not a regular expression (${why})`);
    }
  }
  return patterns;
}

/** An IPv4 address whose route picks the underlay; empty means unset. */
export function parseIfaceCanReach(raw: string): string | null {
  const text = raw.trim();
  if (text === '') return null;
  if (!isIPv4(text))
    throw new BadValue('expected an IPv4 address to look the route up for, such as 198.19.0.1');
  return text;
}
