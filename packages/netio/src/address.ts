import { isIPv4, isIPv6 } from 'node:net';
import { createNetioError } from './errors.js';
import { MSG_ADDR, MSG_PORT, MSG_STRIDE } from './types.js';

/** '10.1.2.3' → 0x0a010203 (unsigned). Throws NETIO_BAD_ARGUMENT for anything else. */
export function ipv4ToInt(address: string): number {
  if (!isIPv4(address))
    throw createNetioError('NETIO_BAD_ARGUMENT', 0, '', `'${address}' is not an IPv4 address`);
  const [a, b, c, d] = address.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** 0x0a010203 (or its int32 form as stored in a record) → '10.1.2.3'. */
export function intToIpv4(value: number): string {
  const n = value >>> 0;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** IPv6 text → four host-order 32-bit words (as records store them). */
export function ipv6ToWords(address: string): [number, number, number, number] {
  if (!isIPv6(address) || address.includes('%'))
    throw createNetioError('NETIO_BAD_ARGUMENT', 0, '', `'${address}' is not an IPv6 address`);
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToInt(dotted[1]);
    text = `${text.slice(0, dotted.index)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...zeros, ...tailGroups].map((g) => Number.parseInt(g, 16));
  return [0, 1, 2, 3].map((i) => ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0) as [
    number,
    number,
    number,
    number,
  ];
}

/** Four 32-bit words → IPv6 text in the short form ('::1', 'fd00::a'). */
export function wordsToIpv6(words: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push((words[i] >>> 16) & 0xffff, words[i] & 0xffff);
  // Longest run of two or more zero groups becomes '::'.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Writes a peer (IPv4 or IPv6 text) and port into record `record` of `meta`. */
export function setRecordPeer(meta: Int32Array, record: number, address: string, port: number): void {
  const base = record * MSG_STRIDE;
  if (isIPv4(address)) {
    meta[base + MSG_ADDR] = ipv4ToInt(address);
    meta.fill(0, base + MSG_ADDR + 1, base + MSG_ADDR + 4);
  } else {
    meta.set(ipv6ToWords(address), base + MSG_ADDR);
  }
  meta[base + MSG_PORT] = port;
}

/** Reads record `record`'s peer address as text for the given family. */
export function recordPeerAddress(meta: Int32Array, record: number, family: 4 | 6): string {
  const base = record * MSG_STRIDE + MSG_ADDR;
  return family === 4 ? intToIpv4(meta[base]) : wordsToIpv6(meta.subarray(base, base + 4));
}
