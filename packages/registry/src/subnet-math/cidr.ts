// Parsing of 'a.b.c.d/len' and Flannel's subnet key form 'a.b.c.d-len'.
import type { Ipv4Cidr } from '../types.js';
import { blockSize, formatIpv4, maskIpv4, parseIpv4 } from './ipv4.js';

export interface ParsedCidr extends Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
}

function build(base: number, prefixLength: number): ParsedCidr {
  const address = formatIpv4(base);
  return { address, prefixLength, cidr: `${address}/${prefixLength}`, base };
}

/**
 * Parses 'a.b.c.d/len'. With `mask` (Go's net.ParseCIDR behaviour) host bits are cleared; without it
 * a non-network address is rejected. Returns null when malformed.
 */
export function parseCidr(text: string, options: { mask?: boolean } = {}): ParsedCidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = parseIpv4(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (address === null || !/^\d{1,2}$/.test(lenText)) return null;
  const prefixLength = Number(lenText);
  if (prefixLength > 32) return null;
  const base = maskIpv4(address, prefixLength);
  if (base !== address && options.mask !== true) return null;
  return build(base, prefixLength);
}

export function cidrOf(base: number, prefixLength: number): ParsedCidr {
  return build(maskIpv4(base, prefixLength), prefixLength);
}

/** '10.244.3.0/24' → '10.244.3.0-24' (Flannel's MakeSubnetKey, IPv4 part). */
export function subnetKey(subnet: string): string {
  const parsed = parseCidr(subnet);
  if (parsed === null) throw new TypeError(`not an IPv4 network: ${JSON.stringify(subnet)}`);
  return `${parsed.address}-${parsed.prefixLength}`;
}

/**
 * '10.244.3.0-24' → '10.244.3.0/24', or null if the key is not a Flannel IPv4 subnet key. A dual-stack
 * key ('10.244.3.0-24&fc00::-64') yields its IPv4 part.
 */
export function parseSubnetKey(key: string): string | null {
  const v4 = key.split('&', 1)[0] ?? '';
  const dash = v4.lastIndexOf('-');
  if (dash < 0) return null;
  const parsed = parseCidr(`${v4.slice(0, dash)}/${v4.slice(dash + 1)}`);
  return parsed === null ? null : parsed.cidr;
}

/** True when the two networks share at least one address. */
export function overlaps(a: ParsedCidr, b: ParsedCidr): boolean {
  return a.base < b.base + blockSize(b.prefixLength) && b.base < a.base + blockSize(a.prefixLength);
}

/** True when `inner` lies entirely within `outer`. */
export function contains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return (
    inner.prefixLength >= outer.prefixLength &&
    inner.base >= outer.base &&
    inner.base + blockSize(inner.prefixLength) <= outer.base + blockSize(outer.prefixLength)
  );
}
