/**
 * VXLAN (RFC 7348) as the Linux vxlan driver speaks it with Flannel's settings: an 8-byte header (flags
 * 0x08, 24-bit VNI, reserved bytes zero) and an inner Ethernet header (dst = the receiver's VTEP MAC,
 * src = the sender's, EtherType IPv4) in front of the inner IP packet. MACs travel as two integers:
 * the first 2 bytes (hi) and the last 4 bytes (lo), so nothing is allocated per packet.
 */
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, TUNNEL_HEADER_LEN, VXLAN_FLAG_VNI } from '../constants.js';
import {
  DROP_BAD_ETHERTYPE,
  DROP_BAD_VXLAN_HEADER,
  DROP_MALFORMED,
  DROP_NOT_IPV4,
  DROP_WRONG_DST_MAC,
  DROP_WRONG_VNI,
  dropCode,
} from '../drops.js';

export const VXLAN_OVERHEAD = TUNNEL_HEADER_LEN.vxlan;

const MALFORMED = dropCode(DROP_MALFORMED);
const BAD_HEADER = dropCode(DROP_BAD_VXLAN_HEADER);
const WRONG_VNI = dropCode(DROP_WRONG_VNI);
const WRONG_DST_MAC = dropCode(DROP_WRONG_DST_MAC);
const BAD_ETHERTYPE = dropCode(DROP_BAD_ETHERTYPE);
const NOT_IPV4 = dropCode(DROP_NOT_IPV4);

/** Writes the 22 bytes in front of the inner IPv4 packet at `inner`; returns where the payload starts. */
export function encodeVxlan(
  buf: Uint8Array,
  inner: number,
  vni: number,
  dstMacHi: number,
  dstMacLo: number,
  srcMacHi: number,
  srcMacLo: number,
): number {
  const at = inner - VXLAN_OVERHEAD;
  buf[at] = VXLAN_FLAG_VNI;
  buf[at + 1] = 0;
  buf[at + 2] = 0;
  buf[at + 3] = 0;
  buf[at + 4] = vni >>> 16;
  buf[at + 5] = vni >>> 8;
  buf[at + 6] = vni;
  buf[at + 7] = 0;
  buf[at + 8] = dstMacHi >>> 8;
  buf[at + 9] = dstMacHi;
  buf[at + 10] = dstMacLo >>> 24;
  buf[at + 11] = dstMacLo >>> 16;
  buf[at + 12] = dstMacLo >>> 8;
  buf[at + 13] = dstMacLo;
  buf[at + 14] = srcMacHi >>> 8;
  buf[at + 15] = srcMacHi;
  buf[at + 16] = srcMacLo >>> 24;
  buf[at + 17] = srcMacLo >>> 16;
  buf[at + 18] = srcMacLo >>> 8;
  buf[at + 19] = srcMacLo;
  buf[at + 20] = ETHERTYPE_IPV4 >>> 8;
  buf[at + 21] = ETHERTYPE_IPV4 & 0xff;
  return at;
}

/**
 * Validates the VXLAN and Ethernet headers of the payload at buf[start, start+length); returns where the
 * inner packet starts, or a negative drop code. Accepts our MAC or broadcast as the inner destination.
 */
export function decodeVxlan(
  buf: Uint8Array,
  start: number,
  length: number,
  vni: number,
  ourMacHi: number,
  ourMacLo: number,
): number {
  if (length < VXLAN_OVERHEAD) return MALFORMED;
  if (buf[start] !== VXLAN_FLAG_VNI || buf[start + 1] !== 0 || buf[start + 2] !== 0 || buf[start + 3] !== 0) {
    return BAD_HEADER;
  }
  if (buf[start + 7] !== 0) return BAD_HEADER;
  if (((buf[start + 4] << 16) | (buf[start + 5] << 8) | buf[start + 6]) !== vni) return WRONG_VNI;
  const e = start + 8;
  const dstHi = (buf[e] << 8) | buf[e + 1];
  const dstLo = (buf[e + 2] << 24) | (buf[e + 3] << 16) | (buf[e + 4] << 8) | buf[e + 5];
  const ours = dstHi === ourMacHi && dstLo === ourMacLo;
  if (!ours && !(dstHi === 0xffff && dstLo === -1)) return WRONG_DST_MAC;
  const etherType = (buf[e + 12] << 8) | buf[e + 13];
  if (etherType !== ETHERTYPE_IPV4) return etherType === ETHERTYPE_IPV6 ? NOT_IPV4 : BAD_ETHERTYPE;
  return start + VXLAN_OVERHEAD;
}

/** Splits 6 MAC bytes into the (hi, lo) integer pair the codec uses; lo is an int32. */
export function macHi(mac: Uint8Array): number {
  return (mac[0] << 8) | mac[1];
}

export function macLo(mac: Uint8Array): number {
  return (mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5];
}
