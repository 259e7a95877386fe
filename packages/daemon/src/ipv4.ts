// Minimal IPv4 CIDR arithmetic for host setup and subnet.env (the registry owns allocation).
import { isIPv4 } from 'node:net';

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefixLength: number;
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw new TypeError(`not an IPv4 address: ${ip}`);
  return ip.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

export function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses 'a.b.c.d/n' and masks the address to the network. */
export function parseCidr(text: string): Cidr {
  const [ip, length] = text.split('/');
  const prefixLength = Number(length);
  if (length === undefined || !/^\d{1,2}$/.test(length) || prefixLength > 32) {
    throw new TypeError(`not an IPv4 CIDR: ${text}`);
  }
  const size = 2 ** (32 - prefixLength);
  return { base: Math.floor(ipToInt(ip) / size) * size, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  return `${intToIp(cidr.base)}/${cidr.prefixLength}`;
}

/** The n-th address of a network, with the network's prefix: offsetAddress('10.5.72.0/24', 1) = '10.5.72.1/24'. */
export function offsetAddress(cidrText: string, offset: number): string {
  const cidr = parseCidr(cidrText);
  return `${intToIp(cidr.base + offset)}/${cidr.prefixLength}`;
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (inner.prefixLength < outer.prefixLength) return false;
  const size = 2 ** (32 - outer.prefixLength);
  return Math.floor(inner.base / size) * size === outer.base;
}
