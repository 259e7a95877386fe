/**
 * IP-in-IP (IP protocol 4) as a Linux ipip tunnel device with default settings sends it (Flannel's ipip
 * backend): a 20-byte outer IPv4 header, DF set (path MTU discovery on), TTL inherited from the inner
 * packet, ECN bits copied from the inner TOS. Sent through a raw socket with IP_HDRINCL, where the
 * kernel always fills in the header checksum and fills in the identification when zero (raw(7)), so
 * both stay zero here.
 */
import { IP_PROTOCOL_IPIP, IPV4_HEADER_LEN } from '../constants.js';
import { DROP_MALFORMED, dropCode } from '../drops.js';

export const IPIP_OVERHEAD = IPV4_HEADER_LEN;

const MALFORMED = dropCode(DROP_MALFORMED);

/**
 * Writes the outer header in front of the inner IPv4 packet at `inner` (source and destination as
 * int32 addresses); returns where the outer packet starts.
 */
export function encodeIpip(
  buf: Uint8Array,
  inner: number,
  innerLength: number,
  source: number,
  destination: number,
): number {
  const at = inner - IPIP_OVERHEAD;
  const total = innerLength + IPIP_OVERHEAD;
  buf[at] = 0x45;
  buf[at + 1] = buf[inner + 1] & 0x03;
  buf[at + 2] = total >>> 8;
  buf[at + 3] = total;
  buf[at + 4] = 0;
  buf[at + 5] = 0;
  buf[at + 6] = 0x40;
  buf[at + 7] = 0;
  buf[at + 8] = buf[inner + 8];
  buf[at + 9] = IP_PROTOCOL_IPIP;
  buf[at + 10] = 0;
  buf[at + 11] = 0;
  buf[at + 12] = source >>> 24;
  buf[at + 13] = source >>> 16;
  buf[at + 14] = source >>> 8;
  buf[at + 15] = source;
  buf[at + 16] = destination >>> 24;
  buf[at + 17] = destination >>> 16;
  buf[at + 18] = destination >>> 8;
  buf[at + 19] = destination;
  return at;
}

/**
 * Validates the outer header of the packet at buf[start, start+length) (as a raw socket delivers it);
 * returns where the inner packet starts, or a negative drop code. The sender is the outer source.
 */
export function decodeIpip(buf: Uint8Array, start: number, length: number): number {
  if (length < IPV4_HEADER_LEN) return MALFORMED;
  const versionAndIhl = buf[start];
  const headerLength = (versionAndIhl & 15) << 2;
  const total = (buf[start + 2] << 8) | buf[start + 3];
  if (versionAndIhl >>> 4 !== 4 || headerLength < IPV4_HEADER_LEN || buf[start + 9] !== IP_PROTOCOL_IPIP) {
    return MALFORMED;
  }
  if (total > length || total < headerLength) return MALFORMED;
  return start + headerLength;
}
