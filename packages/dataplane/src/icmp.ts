/**
 * ICMP errors the forwarder originates and writes back into the TUN device, so the sending host learns
 * why its packet went nowhere: Time Exceeded (TTL ran out on the tunnel hop), Destination Unreachable
 * (no peer owns the destination, as Flannel does) and Fragmentation Needed (DF set and too big for the
 * tunnel, with the tunnel MTU so path MTU discovery works through felt).
 *
 * RFC 1812 §4.3.2.7: never about an ICMP error, a non-initial fragment, or a packet whose source is
 * not a unicast host address. The message quotes the offending header plus the first 8 data bytes.
 */
import { ICMP_TTL, IP_PROTOCOL_ICMP, IPV4_HEADER_LEN } from './constants.js';
import { internetChecksum } from './ipv4.js';

export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_CODE_NET_UNREACHABLE = 0;
export const ICMP_CODE_FRAG_NEEDED = 4;
export const ICMP_CODE_TTL_EXCEEDED = 0;

const ICMP_HEADER_LEN = 8;
/** Longest ICMP error we write: our header, ICMP header, a 60-byte quoted header and 8 data bytes. */
export const ICMP_ERROR_MAX_LEN = IPV4_HEADER_LEN + ICMP_HEADER_LEN + 60 + 8;

/** Whether an ICMP error may be sent about the IPv4 packet at buf[ip...]. */
export function mayReplyWithIcmpError(buf: Uint8Array, ip: number): boolean {
  const fragmentOffset = ((buf[ip + 6] & 0x1f) << 8) | buf[ip + 7];
  if (fragmentOffset !== 0) return false;
  const firstOctet = buf[ip + 12];
  if (firstOctet === 0 || firstOctet === 127 || firstOctet >= 224) return false;
  if (buf[ip + 12] === 255 && buf[ip + 13] === 255 && buf[ip + 14] === 255 && buf[ip + 15] === 255)
    return false;
  if (buf[ip + 9] === IP_PROTOCOL_ICMP) {
    const headerLength = (buf[ip] & 15) << 2;
    const type = buf[ip + headerLength];
    // Only informational messages (echo, echo reply, timestamp...) may be answered with an error.
    if (type === 3 || type === 4 || type === 5 || type === 11 || type === 12) return false;
  }
  return true;
}

/**
 * Writes an ICMP error about the packet at buf[ip, ip+ipLength) to out[at...], from `source` (int32) to
 * the packet's source. `mtu` is the next-hop MTU for Fragmentation Needed (0 otherwise). Returns the
 * length written. The caller checked mayReplyWithIcmpError and that `out` has ICMP_ERROR_MAX_LEN bytes.
 */
export function writeIcmpError(
  out: Uint8Array,
  at: number,
  buf: Uint8Array,
  ip: number,
  ipLength: number,
  type: number,
  code: number,
  mtu: number,
  source: number,
): number {
  const quoted = Math.min(ipLength, ((buf[ip] & 15) << 2) + 8);
  const total = IPV4_HEADER_LEN + ICMP_HEADER_LEN + quoted;
  const icmp = at + IPV4_HEADER_LEN;
  // Quote first: `out` may be a different slot, never the same bytes.
  for (let i = 0; i < quoted; i++) out[icmp + ICMP_HEADER_LEN + i] = buf[ip + i];
  out[at] = 0x45;
  out[at + 1] = 0xc0;
  out[at + 2] = total >>> 8;
  out[at + 3] = total;
  out[at + 4] = 0;
  out[at + 5] = 0;
  out[at + 6] = 0;
  out[at + 7] = 0;
  out[at + 8] = ICMP_TTL;
  out[at + 9] = IP_PROTOCOL_ICMP;
  out[at + 10] = 0;
  out[at + 11] = 0;
  out[at + 12] = source >>> 24;
  out[at + 13] = source >>> 16;
  out[at + 14] = source >>> 8;
  out[at + 15] = source;
  out[at + 16] = buf[ip + 12];
  out[at + 17] = buf[ip + 13];
  out[at + 18] = buf[ip + 14];
  out[at + 19] = buf[ip + 15];
  const headerChecksum = internetChecksum(out, at, IPV4_HEADER_LEN);
  out[at + 10] = headerChecksum >>> 8;
  out[at + 11] = headerChecksum;
  out[icmp] = type;
  out[icmp + 1] = code;
  out[icmp + 2] = 0;
  out[icmp + 3] = 0;
  out[icmp + 4] = 0;
  out[icmp + 5] = 0;
  out[icmp + 6] = mtu >>> 8;
  out[icmp + 7] = mtu;
  const icmpChecksum = internetChecksum(out, icmp, ICMP_HEADER_LEN + quoted);
  out[icmp + 2] = icmpChecksum >>> 8;
  out[icmp + 3] = icmpChecksum;
  return total;
}
