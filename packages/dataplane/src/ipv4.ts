/**
 * IPv4 addresses as host-order unsigned 32-bit numbers (the form netio records carry), CIDR and MAC
 * parsing for the control plane, and allocation-free header helpers for the hot path.
 */

export interface Cidr {
  /** Network address, host order, unsigned. */
  base: number;
  prefixLength: number;
  /** Netmask, host order, unsigned. */
  mask: number;
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** '10.0.0.1' → 0x0a000001, or -1 when it is not a dotted quad. */
export function parseIpv4(text: string): number {
  const m = DOTTED_QUAD.exec(text);
  if (!m) return -1;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return -1;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** '10.244.3.0/24' → Cidr, or undefined when malformed or host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const base = parseIpv4(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (base < 0 || !/^\d{1,2}$/.test(lengthText)) return undefined;
  const prefixLength = Number(lengthText);
  if (prefixLength > 32) return undefined;
  const mask = maskOf(prefixLength);
  if ((base & ~mask) !== 0) return undefined;
  return { base, prefixLength, mask };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.prefixLength}`;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefixLength >= outer.prefixLength && (inner.base & outer.mask) >>> 0 === outer.base;
}

/** 'aa:bb:cc:dd:ee:ff' → 6 bytes, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) return undefined;
  return Uint8Array.from(text.split(':').map((h) => Number.parseInt(h, 16)));
}

// Hot-path helpers: no allocation, plain integer arithmetic.

/** Internet checksum (RFC 1071) of buf[start, start+length), folded and complemented. */
export function internetChecksum(buf: Uint8Array, start: number, length: number): number {
  let sum = 0;
  const end = start + (length & ~1);
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (length & 1) sum += buf[start + length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Decrements the TTL of the IPv4 header at `ip` and fixes the header checksum incrementally
 * (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'), where m is the TTL/protocol word).
 */
export function decrementTtl(buf: Uint8Array, ip: number): void {
  const oldWord = (buf[ip + 8] << 8) | buf[ip + 9];
  const newWord = oldWord - 0x100;
  buf[ip + 8] = newWord >>> 8;
  const oldChecksum = (buf[ip + 10] << 8) | buf[ip + 11];
  let sum = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + newWord;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const checksum = ~sum & 0xffff;
  buf[ip + 10] = checksum >>> 8;
  buf[ip + 11] = checksum;
}
