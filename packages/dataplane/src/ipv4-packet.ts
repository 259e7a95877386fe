/**
 * Checks that bytes claimed to be an IPv4 packet are one: version, header length and total length
 * consistent with the bytes at hand. Allocation-free; returns the total length or a negative drop code.
 */
import { IPV4_HEADER_LEN } from './constants.js';
import { DROP_MALFORMED, DROP_NOT_IPV4, dropCode } from './drops.js';

const MALFORMED = dropCode(DROP_MALFORMED);
const NOT_IPV4 = dropCode(DROP_NOT_IPV4);

export function checkIpv4Packet(buf: Uint8Array, start: number, length: number): number {
  if (length < IPV4_HEADER_LEN) return length > 0 && buf[start] >>> 4 === 6 ? NOT_IPV4 : MALFORMED;
  const versionAndIhl = buf[start];
  if (versionAndIhl >>> 4 !== 4) return versionAndIhl >>> 4 === 6 ? NOT_IPV4 : MALFORMED;
  const headerLength = (versionAndIhl & 15) << 2;
  const totalLength = (buf[start + 2] << 8) | buf[start + 3];
  if (headerLength < IPV4_HEADER_LEN || totalLength < headerLength || totalLength > length) return MALFORMED;
  return totalLength;
}

/** Source address (as int32, the form route tables and netio records use). */
export function ipv4Source(buf: Uint8Array, ip: number): number {
  return (buf[ip + 12] << 24) | (buf[ip + 13] << 16) | (buf[ip + 14] << 8) | buf[ip + 15];
}

/** Destination address (as int32). */
export function ipv4Destination(buf: Uint8Array, ip: number): number {
  return (buf[ip + 16] << 24) | (buf[ip + 17] << 16) | (buf[ip + 18] << 8) | buf[ip + 19];
}

/** Don't Fragment bit set. */
export function ipv4DontFragment(buf: Uint8Array, ip: number): boolean {
  return (buf[ip + 6] & 0x40) !== 0;
}
