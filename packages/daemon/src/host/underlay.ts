// Picks the underlay interface and address the way flanneld does (pkg/ipmatch LookupExtIface and its
// caller in main.go): every --iface in order (name or address), then every --iface-regex in order, then
// --iface-can-reach; the first hit wins and no hit at all is fatal. Without any of these, --public-ip
// names the interface that holds it; else the interface of the default route (felt also accepts the only
// non-loopback interface when there is no default route, where flanneld gives up).
import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { compileIfaceRegex } from '../config/values.js';
import { DaemonError } from '../errors.js';
import type { CommandRunner } from '../exec.js';

export interface LinkAddresses {
  name: string;
  /** IPv4 addresses in kernel order (the first is the primary). */
  addresses: string[];
  loopback: boolean;
  /** Addresses the kernel marks dynamic (DHCP-assigned): ranked after permanent ones. */
  dynamic?: string[];
  /** Addresses the kernel marks deprecated: never chosen, only matched by an exact --iface address. */
  deprecated?: string[];
}

export interface Underlay {
  iface: string;
  /** The interface address the underlay socket uses. */
  ifaceAddress: string;
  /** Advertised to peers: --public-ip, else ifaceAddress. */
  publicIp: string;
  mtu: number;
}

/** What `ip route get <address>` answers: the outgoing device and the source address it would use. */
export interface RouteSource {
  dev: string;
  src: string | null;
}

export interface UnderlaySystem {
  links(): Promise<LinkAddresses[]>;
  /** Device of the IPv4 default route, or null. */
  defaultRouteDevice(): Promise<string | null>;
  mtu(iface: string): Promise<number>;
  /** The route the kernel would use to reach `destination`; throws when there is none. Needed only
   * for --iface-can-reach (a system without it fails that flag with DAEMON_NO_UNDERLAY). */
  routeGet?(destination: string): Promise<RouteSource>;
}

export interface UnderlayRequest {
  iface: readonly string[];
  ifaceRegex?: readonly string[];
  ifaceCanReach?: string | null;
  publicIp: string | null;
}

export async function detectUnderlay(system: UnderlaySystem, request: UnderlayRequest): Promise<Underlay> {
  const links = await system.links();
  const chosen = await chooseLink(system, links, request);
  return {
    iface: chosen.name,
    ifaceAddress: chosen.address,
    publicIp: request.publicIp ?? chosen.address,
    mtu: await system.mtu(chosen.name),
  };
}

/** A chosen interface and address, or why a candidate did not match. */
type Match = { name: string; address: string } | { miss: string };

async function chooseLink(
  system: UnderlaySystem,
  links: LinkAddresses[],
  request: UnderlayRequest,
): Promise<{ name: string; address: string }> {
  const regexes = request.ifaceRegex ?? [];
  const canReach = request.ifaceCanReach ?? null;
  if (request.iface.length === 0 && regexes.length === 0 && canReach === null) {
    // flanneld (since PR #1214) takes the interface holding --public-ip and exits when none holds it
    // (a NAT address, issue #1397); felt falls back to the default route there instead.
    const holder = request.publicIp === null ? undefined : holding(links, request.publicIp);
    return holder ?? byDefaultRoute(system, links);
  }
  const misses: string[] = [];
  const candidates: (() => Match | Promise<Match>)[] = [
    ...request.iface.map((wanted) => () => byIface(links, wanted)),
    ...regexes.map((pattern) => () => byRegex(links, pattern)),
    ...(canReach === null ? [] : [() => byRoute(system, links, canReach)]),
  ];
  for (const candidate of candidates) {
    const match = await candidate();
    if (!('miss' in match)) return match;
    misses.push(match.miss);
  }
  throw new DaemonError(
    'DAEMON_NO_UNDERLAY',
    `no underlay interface matches: ${misses.join('; ')} (have: ${describeLinks(links)})`,
  );
}

function byIface(links: LinkAddresses[], wanted: string): Match {
  // An exact address picks its interface and is used as-is (any IPv4 address, as flanneld does).
  if (isIPv4(wanted)) return holding(links, wanted) ?? { miss: `--iface ${wanted}: no interface has it` };
  const link = links.find((entry) => entry.name === wanted);
  if (!link) return { miss: `--iface ${wanted}: no such interface` };
  return withFirstAddress(link, `--iface ${wanted}`);
}

/** Addresses of all interfaces first (interface order, then address rank), then interface names. */
function byRegex(links: LinkAddresses[], pattern: string): Match {
  const regex = compileIfaceRegex(pattern);
  for (const link of links) {
    const address = usableAddresses(link).find((candidate) => regex.test(candidate));
    if (address !== undefined) return { name: link.name, address };
  }
  // flanneld takes the first interface whose name matches, even one without a usable address.
  const named = links.find((link) => regex.test(link.name));
  if (!named) return { miss: `--iface-regex ${pattern}: matches no interface name or address` };
  return withFirstAddress(named, `--iface-regex ${pattern} (interface ${named.name})`);
}

async function byRoute(system: UnderlaySystem, links: LinkAddresses[], destination: string): Promise<Match> {
  const what = `--iface-can-reach ${destination}`;
  if (!system.routeGet) return { miss: `${what}: route lookup unavailable` };
  let route: RouteSource;
  try {
    route = await system.routeGet(destination);
  } catch (err) {
    return { miss: `${what}: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (route.src !== null) return { name: route.dev, address: route.src };
  const link = links.find((entry) => entry.name === route.dev);
  if (!link) return { miss: `${what}: route via unknown device ${route.dev}` };
  return withFirstAddress(link, `${what} (interface ${link.name})`);
}

async function byDefaultRoute(
  system: UnderlaySystem,
  links: LinkAddresses[],
): Promise<{ name: string; address: string }> {
  const defaultDevice = await system.defaultRouteDevice();
  const viaDefault = links.find((link) => link.name === defaultDevice);
  const address = viaDefault ? usableAddresses(viaDefault)[0] : undefined;
  if (viaDefault && address !== undefined) return { name: viaDefault.name, address };
  const candidates = links.filter((link) => !link.loopback && usableAddresses(link).length > 0);
  if (candidates.length === 1)
    return { name: candidates[0].name, address: usableAddresses(candidates[0])[0] };
  throw new DaemonError(
    'DAEMON_NO_UNDERLAY',
    `no default route and ${candidates.length} candidate interfaces (${describeLinks(candidates)}); choose one with --iface`,
  );
}

function holding(links: LinkAddresses[], address: string): { name: string; address: string } | undefined {
  const link = links.find((entry) => entry.addresses.includes(address));
  return link ? { name: link.name, address } : undefined;
}

function withFirstAddress(link: LinkAddresses, what: string): Match {
  const address = usableAddresses(link)[0];
  return address === undefined ? { miss: `${what}: no usable IPv4 address` } : { name: link.name, address };
}

/**
 * The addresses flanneld would pick from, best first: unicast and not deprecated (loopback, multicast,
 * broadcast and 0.0.0.0 never; link-local 169.254/16 only after the rest), permanent before dynamic.
 */
export function usableAddresses(link: LinkAddresses): string[] {
  const deprecated = new Set(link.deprecated ?? []);
  const dynamic = new Set(link.dynamic ?? []);
  const rank = (address: string) => (isLinkLocal(address) ? 2 : 0) + (dynamic.has(address) ? 1 : 0);
  return link.addresses
    .filter((address) => isUnicast(address) && !deprecated.has(address))
    .sort((a, b) => rank(a) - rank(b));
}

function isUnicast(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return (
    address !== '0.0.0.0' && address !== '255.255.255.255' && first !== 127 && (first < 224 || first > 239)
  );
}

function isLinkLocal(address: string): boolean {
  return address.startsWith('169.254.');
}

function describeLinks(links: LinkAddresses[]): string {
  if (links.length === 0) return 'none';
  return links.map((link) => `${link.name}=${link.addresses.join('+') || 'no IPv4'}`).join(' ');
}

/** The real system, through `ip -j` and /sys. */
export function systemUnderlay(run: CommandRunner): UnderlaySystem {
  return {
    async links() {
      // All families, so interfaces without IPv4 are listed too (a name regex may match them).
      const result = await run('ip', ['-j', 'addr', 'show']);
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
    async routeGet(destination) {
      const result = await run('ip', ['-j', '-4', 'route', 'get', destination]);
      if (result.code !== 0) throw new Error(`ip route get ${destination}: ${result.stderr.trim()}`);
      const route = (JSON.parse(result.stdout || '[]') as { dev?: string; prefsrc?: string }[])[0];
      if (typeof route?.dev !== 'string') throw new Error(`ip route get ${destination}: no device`);
      return { dev: route.dev, src: typeof route.prefsrc === 'string' ? route.prefsrc : null };
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

interface IpAddrInfo {
  family?: string;
  local?: string;
  dynamic?: boolean;
  deprecated?: boolean;
}

/** `ip -j addr show` output → links in kernel order (interfaces without IPv4 have no addresses). */
export function parseIpAddrJson(text: string): LinkAddresses[] {
  const entries = JSON.parse(text || '[]') as {
    ifname?: string;
    link_type?: string;
    flags?: string[];
    addr_info?: IpAddrInfo[];
  }[];
  return entries
    .filter((entry) => typeof entry.ifname === 'string')
    .map((entry) => {
      const inet = (entry.addr_info ?? []).filter(
        (info): info is IpAddrInfo & { local: string } =>
          info.family === 'inet' && typeof info.local === 'string',
      );
      const flagged = (flag: 'dynamic' | 'deprecated') =>
        inet.filter((info) => info[flag] === true).map((info) => info.local);
      return {
        name: entry.ifname as string,
        addresses: inet.map((info) => info.local),
        loopback: entry.link_type === 'loopback' || (entry.flags ?? []).includes('LOOPBACK'),
        dynamic: flagged('dynamic'),
        deprecated: flagged('deprecated'),
      };
    });
}
