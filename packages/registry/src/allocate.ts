// Flannel's allocateSubnet: walk [SubnetMin, SubnetMax] upward, collect up to 100 candidates that overlap
// no existing lease, pick one at random (biased low on purpose; randomness only spreads racing nodes).
import { contains, overlaps, type ParsedCidr, parseCidr } from './subnet-math/cidr.js';
import { blockSize, formatIpv4, parseIpv4 } from './subnet-math/ipv4.js';
import type { NetworkConfig } from './types.js';

export const CANDIDATE_LIMIT = 100;

function parseSubnets(subnets: Iterable<string>): ParsedCidr[] {
  const out: ParsedCidr[] = [];
  for (const s of subnets) {
    const parsed = parseCidr(s);
    if (parsed !== null) out.push(parsed);
  }
  return out.sort((a, b) => a.base - b.base);
}

/** The lowest free subnets of the config's range, at most `limit` of them. */
export function freeCandidates(
  config: NetworkConfig,
  taken: Iterable<string>,
  limit = CANDIDATE_LIMIT,
): string[] {
  const size = blockSize(config.subnetLen);
  const min = parseIpv4(config.subnetMin) ?? 0;
  const max = parseIpv4(config.subnetMax) ?? -1;
  const used = parseSubnets(taken);
  const out: string[] = [];
  let u = 0;
  for (let base = min; base <= max && out.length < limit; base += size) {
    const candidate: ParsedCidr = {
      base,
      prefixLength: config.subnetLen,
      address: '',
      cidr: '',
    };
    // `used` is sorted: skip leases that end before this candidate, then test the next ones.
    while (u < used.length && used[u]!.base + blockSize(used[u]!.prefixLength) <= base) u++;
    let clash = false;
    for (let i = u; i < used.length && used[i]!.base < base + size; i++) {
      if (overlaps(candidate, used[i]!)) {
        clash = true;
        break;
      }
    }
    if (!clash) out.push(`${formatIpv4(base)}/${config.subnetLen}`);
  }
  return out;
}

/** A random pick among the lowest free candidates, or null when the range is full. */
export function chooseSubnet(
  config: NetworkConfig,
  taken: Iterable<string>,
  random: () => number = Math.random,
): string | null {
  const candidates = freeCandidates(config, taken);
  if (candidates.length === 0) return null;
  return candidates[Math.floor(random() * candidates.length)] ?? candidates[0]!;
}

/** True when `subnet` shares no address with any of `taken`. */
export function isFree(subnet: string, taken: Iterable<string>): boolean {
  const wanted = parseCidr(subnet);
  if (wanted === null) return false;
  for (const other of parseSubnets(taken)) if (overlaps(wanted, other)) return false;
  return true;
}

/** True when `subnet` is a whole lease of this config: right size, inside Network and [min, max]. */
export function subnetFitsConfig(config: NetworkConfig, subnet: string): boolean {
  const parsed = parseCidr(subnet);
  const network = parseCidr(config.network.cidr);
  const min = parseIpv4(config.subnetMin);
  const max = parseIpv4(config.subnetMax);
  if (parsed === null || network === null || min === null || max === null) return false;
  return (
    parsed.prefixLength === config.subnetLen &&
    contains(network, parsed) &&
    parsed.base >= min &&
    parsed.base <= max
  );
}

/** Normalises a subnet.env FLANNEL_SUBNET ('10.244.3.1/24') or a subnet to its network form. */
export function normaliseSubnet(text: string): string | null {
  const parsed = parseCidr(text, { mask: true });
  return parsed === null ? null : parsed.cidr;
}
