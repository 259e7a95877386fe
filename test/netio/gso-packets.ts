/**
 * Builds virtio-net GSO super-packets the way the kernel hands them to a TUN with offloads (partial L4
 * checksum = pseudo-header sum, NEEDS_CSUM), and parses/validates the segments netio splits them into.
 */
import { VNET_HDR_LEN } from '@felt/netio';

export type L4 = 'tcp' | 'udp';

export interface SuperPacketSpec {
  family: 4 | 6;
  l4: L4;
  payload: Uint8Array;
  gsoSize: number;
  seq?: number;
  /** TCP flags of the super-packet (ACK | PSH | FIN ...). */
  tcpFlags?: number;
  ipId?: number;
}

export const TCP_FIN = 0x01;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
const GSO_TYPE = { 4: { tcp: 1, udp: 5 }, 6: { tcp: 4, udp: 5 } } as const;

export function sumWords(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if ((end - start) % 2 === 1) sum += bytes[end - 1] << 8;
  return sum;
}

export function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

function pseudoSum(ip: Uint8Array, family: 4 | 6, protocol: number, l4Length: number): number {
  const sum = family === 4 ? sumWords(ip, 12, 20) : sumWords(ip, 8, 40);
  return sum + protocol + l4Length;
}

/** virtio_net_hdr + IP + TCP/UDP header + payload, as a TUN read with TSO/USO returns it. */
export function buildSuperPacket(spec: SuperPacketSpec): Uint8Array {
  const ipHeader = spec.family === 4 ? 20 : 40;
  const l4Header = spec.l4 === 'tcp' ? 32 : 8; // TCP with 12 bytes of options (NOP NOP timestamp)
  const ipLength = ipHeader + l4Header + spec.payload.length;
  const bytes = new Uint8Array(VNET_HDR_LEN + ipLength);
  const v = new DataView(bytes.buffer);
  const protocol = spec.l4 === 'tcp' ? 6 : 17;
  v.setUint8(0, 1); // NEEDS_CSUM
  v.setUint8(1, GSO_TYPE[spec.family][spec.l4]);
  v.setUint16(2, ipHeader + l4Header, true);
  v.setUint16(4, spec.gsoSize, true);
  v.setUint16(6, ipHeader, true);
  v.setUint16(8, spec.l4 === 'tcp' ? 16 : 6, true);
  const ip = bytes.subarray(VNET_HDR_LEN);
  const iv = new DataView(ip.buffer, ip.byteOffset);
  if (spec.family === 4) {
    iv.setUint8(0, 0x45);
    iv.setUint16(2, ipLength);
    iv.setUint16(4, spec.ipId ?? 0x1234);
    iv.setUint16(6, 0x4000);
    iv.setUint8(8, 64);
    iv.setUint8(9, protocol);
    ip.set([10, 79, 1, 1, 10, 79, 2, 1], 12);
    iv.setUint16(10, ~fold(sumWords(ip, 0, 20)) & 0xffff);
  } else {
    iv.setUint32(0, 0x60000000);
    iv.setUint16(4, ipLength - 40);
    iv.setUint8(6, protocol);
    iv.setUint8(7, 64);
    ip.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 8);
    ip.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 24);
  }
  const l4 = ip.subarray(ipHeader);
  const lv = new DataView(l4.buffer, l4.byteOffset);
  lv.setUint16(0, 40000);
  lv.setUint16(2, 5201);
  const l4Length = l4Header + spec.payload.length;
  if (spec.l4 === 'tcp') {
    lv.setUint32(4, spec.seq ?? 1000);
    lv.setUint32(8, 777);
    lv.setUint8(12, (l4Header / 4) << 4);
    lv.setUint8(13, spec.tcpFlags ?? TCP_ACK | TCP_PSH);
    lv.setUint16(14, 65535);
    l4.set([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], 20);
    lv.setUint16(16, fold(pseudoSum(ip, spec.family, protocol, l4Length)));
  } else {
    lv.setUint16(4, l4Length);
    lv.setUint16(6, fold(pseudoSum(ip, spec.family, protocol, l4Length)));
  }
  l4.set(spec.payload, l4Header);
  return bytes;
}

export interface Segment {
  family: 4 | 6;
  l4: L4;
  ipId: number;
  seq: number;
  tcpFlags: number;
  payload: Uint8Array;
  ipOk: boolean;
  l4Ok: boolean;
}

/** Parses one IPv4/IPv6 TCP or UDP packet and verifies its lengths and checksums. */
export function parseSegment(ip: Uint8Array): Segment {
  const v = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  const family = (ip[0] >> 4) as 4 | 6;
  const ipHeader = family === 4 ? (ip[0] & 15) * 4 : 40;
  const protocol = family === 4 ? ip[9] : ip[6];
  const declared = family === 4 ? v.getUint16(2) : v.getUint16(4) + 40;
  const ipOk = declared === ip.length && (family === 6 || fold(sumWords(ip, 0, ipHeader)) === 0xffff);
  const l4 = ip.subarray(ipHeader);
  const l4Length = l4.length;
  const l4Ok = fold(sumWords(l4, 0, l4Length, pseudoSum(ip, family, protocol, l4Length))) === 0xffff;
  const tcp = protocol === 6;
  const l4Header = tcp ? (l4[12] >> 4) * 4 : 8;
  const udpLengthOk = tcp || v.getUint16(ipHeader + 4) === l4Length;
  return {
    family,
    l4: tcp ? 'tcp' : 'udp',
    ipId: family === 4 ? v.getUint16(4) : 0,
    seq: tcp ? v.getUint32(ipHeader + 4) : 0,
    tcpFlags: tcp ? l4[13] : 0,
    payload: l4.slice(l4Header),
    ipOk,
    l4Ok: l4Ok && udpLengthOk,
  };
}
