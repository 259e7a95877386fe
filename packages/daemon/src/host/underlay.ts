// Picks the underlay interface and address like flanneld: --iface (name or address, first match
// wins), else the interface of the default route, else the only non-loopback interface with IPv4.
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { DaemonError } from '../errors.js';
import type { CommandRunner } from '../exec.js';

export interface LinkAddresses {
  name: string;
  /** IPv4 addresses in kernel order (the first is the primary). */
  addresses: string[];
  loopback: boolean;
}

export interface Underlay {
  iface: string;
  /** The interface's first IPv4 address. */
  ifaceAddress: string;
  /** Advertised to peers: --public-ip, else ifaceAddress. */
  publicIp: string;
  mtu: number;
}

export interface UnderlaySystem {
  links(): Promise<LinkAddresses[]>;
  /** Device of the IPv4 default route, or null. */
  defaultRouteDevice(): Promise<string | null>;
  mtu(iface: string): Promise<number>;
}

export async function detectUnderlay(
  system: UnderlaySystem,
  request: { iface: readonly string[]; publicIp: string | null },
): Promise<Underlay> {
  const links = await system.links();
  const chosen = await chooseLink(system, links, request.iface);
  const ifaceAddress = chosen.addresses[0];
  return {
    iface: chosen.name,
    ifaceAddress,
    publicIp: request.publicIp ?? ifaceAddress,
    mtu: await system.mtu(chosen.name),
  };
}

async function chooseLink(
  system: UnderlaySystem,
  links: LinkAddresses[],
  wanted: readonly string[],
): Promise<LinkAddresses> {
  const usable = (link: LinkAddresses | undefined): link is LinkAddresses =>
    link !== undefined && link.addresses.length > 0;
  if (wanted.length > 0) {
    for (const candidate of wanted) {
      const link = isIPv4(candidate)
        ? links.find((entry) => entry.addresses.includes(candidate))
        : links.find((entry) => entry.name === candidate);
      if (!usable(link)) continue;
      // An address picks its interface and is used as that interface's address.
      if (isIPv4(candidate))
        return { ...link, addresses: [candidate, ...link.addresses.filter((a) => a !== candidate)] };
      return link;
    }
    throw new DaemonError(
      'DAEMON_NO_UNDERLAY',
      `none of --iface ${wanted.join(', ')} is an interface with an IPv4 address (have: ${describeLinks(links)})`,
    );
  }
  const defaultDevice = await system.defaultRouteDevice();
  const viaDefault = links.find((link) => link.name === defaultDevice);
  if (usable(viaDefault)) return viaDefault;
  const candidates = links.filter((link) => !link.loopback && link.addresses.length > 0);
  if (candidates.length === 1) return candidates[0];
  throw new DaemonError(
    'DAEMON_NO_UNDERLAY',
    `no default route and ${candidates.length} candidate interfaces (${describeLinks(candidates)}); choose one with --iface`,
  );
}

function describeLinks(links: LinkAddresses[]): string {
  if (links.length === 0) return 'none';
  return links.map((link) => `${link.name}=${link.addresses.join('+') || 'no IPv4'}`).join(' ');
}

/** The real system, through `ip -j` and /sys. */
export function systemUnderlay(run: CommandRunner): UnderlaySystem {
  return {
    async links() {
      const result = await run('ip', ['-j', '-4', 'addr', 'show']);
      if (result.code !== 0)
        throw new DaemonError('DAEMON_NO_UNDERLAY', `ip addr show failed: ${result.stderr.trim()}`);
      return parseIpAddrJson(result.stdout);
    },
    async defaultRouteDevice() {
      const result = await run('ip', ['-j', '-4', 'route', 'show', 'default']);
      if (result.code !== 0) return null;
      const routes = JSON.parse(result.stdout || '[]') as { dev?: string }[];
      return routes.find((route) => typeof route.dev === 'string')?.dev ?? null;
    },
    async mtu(iface) {
      const text = await readFile(`/sys/class/net/${iface}/mtu`, 'utf8');
      const mtu = Number(text.trim());
      if (!Number.isInteger(mtu) || mtu < 68) {
        throw new DaemonError('DAEMON_NO_UNDERLAY', `unreadable MTU ${JSON.stringify(text)} for ${iface}`);
      }
      return mtu;
    },
  };
}

/** `ip -j -4 addr show` output → links (interfaces without IPv4 are listed with no addresses). */
export function parseIpAddrJson(text: string): LinkAddresses[] {
  const entries = JSON.parse(text || '[]') as {
    ifname?: string;
    link_type?: string;
    flags?: string[];
    addr_info?: { family?: string; local?: string }[];
  }[];
  return entries
    .filter((entry) => typeof entry.ifname === 'string')
    .map((entry) => ({
      name: entry.ifname as string,
      addresses: (entry.addr_info ?? [])
        .filter((info) => info.family === 'inet' && typeof info.local === 'string')
        .map((info) => info.local as string),
      loopback: entry.link_type === 'loopback' || (entry.flags ?? []).includes('LOOPBACK'),
    }));
}
