/** IPv4/UDP packet building and parsing for the netio system tests (checksums computed, not trusted). */
import { intToIpv4, ipv4ToInt } from '@felt/netio';

export interface UdpPacket {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export interface ParsedUdpPacket extends UdpPacket {
  ttl: number;
  ipChecksumOk: boolean;
  udpChecksumOk: boolean;
}

function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if ((end - start) % 2 === 1) sum += bytes[end - 1] << 8;
  return sum;
}

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function pseudoHeaderSum(src: number, dst: number, udpLength: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + udpLength;
}

/** A complete IPv4 + UDP packet with valid header and UDP checksums. */
export function buildIpv4Udp(p: UdpPacket, id = 1): Uint8Array {
  const udpLength = 8 + p.payload.length;
  const bytes = new Uint8Array(20 + udpLength);
  const view = new DataView(bytes.buffer);
  const src = ipv4ToInt(p.src);
  const dst = ipv4ToInt(p.dst);
  view.setUint8(0, 0x45);
  view.setUint16(2, bytes.length);
  view.setUint16(4, id);
  view.setUint16(6, 0x4000); // DF
  view.setUint8(8, 64);
  view.setUint8(9, 17);
  view.setUint32(12, src);
  view.setUint32(16, dst);
  view.setUint16(10, ~fold(sum16(bytes, 0, 20)) & 0xffff);
  view.setUint16(20, p.srcPort);
  view.setUint16(22, p.dstPort);
  view.setUint16(24, udpLength);
  bytes.set(p.payload, 28);
  const udpSum = ~fold(sum16(bytes, 20, bytes.length, pseudoHeaderSum(src, dst, udpLength))) & 0xffff;
  view.setUint16(26, udpSum === 0 ? 0xffff : udpSum);
  return bytes;
}

/** Parses an IPv4/UDP packet (null for anything else, e.g. IPv6 or ICMP). */
export function parseIpv4Udp(bytes: Uint8Array): ParsedUdpPacket | null {
  if (bytes.length < 28 || bytes[0] >> 4 !== 4 || bytes[9] !== 17) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = (bytes[0] & 0x0f) * 4;
  const totalLength = view.getUint16(2);
  const src = view.getUint32(12);
  const dst = view.getUint32(16);
  const udpLength = view.getUint16(headerLength + 4);
  const udpChecksum = view.getUint16(headerLength + 6);
  const udpOk =
    udpChecksum === 0 ||
    fold(sum16(bytes, headerLength, headerLength + udpLength, pseudoHeaderSum(src, dst, udpLength))) ===
      0xffff;
  return {
    src: intToIpv4(src),
    dst: intToIpv4(dst),
    srcPort: view.getUint16(headerLength),
    dstPort: view.getUint16(headerLength + 2),
    payload: bytes.slice(headerLength + 8, headerLength + udpLength),
    ttl: bytes[8],
    ipChecksumOk: fold(sum16(bytes, 0, headerLength)) === 0xffff && totalLength === bytes.length,
    udpChecksumOk: udpOk,
  };
}
