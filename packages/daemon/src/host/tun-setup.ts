// The persistent TUN device and its link configuration, with `ip` (execFile, argument arrays): address = subnet .0/32,
// MTU, queue length, IPv6 off, up, and the cluster network routed into it. Every step is idempotent
// ("replace"), so a restarted daemon re-applies it to the persistent device without disturbing
// established flows.
import { access } from 'node:fs/promises';
import { DaemonError } from '../errors.js';
import type { CommandRunner, Logger } from '../exec.js';
import { localProcSys, type ProcSys } from './proc-sys.js';

/**
 * The kernel queues this many packets for the TUN reader. `ip tuntap add` leaves 500, which a burst
 * overflows whenever the data plane applies back-pressure (a full underlay socket), dropping packets
 * the kernel could have held for a few more milliseconds.
 */
export const TUN_TX_QUEUE_LENGTH = 1000;

export interface TunSpec {
  name: string;
  /** e.g. '10.5.72.0' (the lease's network address), configured as /32. */
  address: string;
  mtu: number;
  /** Cluster network routed into the device, e.g. '10.5.0.0/16'. */
  network: string;
}

interface IpLink {
  ifname: string;
  mtu: number;
  txqlen?: number;
  flags: string[];
}

/** IFF_MULTI_QUEUE in /sys/class/net/<name>/tun_flags. */
const IFF_MULTI_QUEUE = 0x100;

/** The data plane forwards IPv4 only; the kernel's own IPv6 chatter would be counted as drops. */
function disableIpv6Path(name: string): string {
  return `/proc/sys/net/ipv6/conf/${name}/disable_ipv6`;
}

export class TunHost {
  readonly #run: CommandRunner;
  readonly #logger: Logger;
  readonly #procSys: ProcSys;
  #ipv6Unwritable = false;

  constructor(run: CommandRunner, logger: Logger, procSys: ProcSys = localProcSys) {
    this.#run = run;
    this.#logger = logger;
    this.#procSys = procSys;
  }

  async exists(name: string): Promise<boolean> {
    return (await this.#link(name)) !== null;
  }

  /** Existence through /sys (no process spawned); only valid when run inside the device's namespace. */
  async present(name: string): Promise<boolean> {
    try {
      await access(`/sys/class/net/${name}`);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Creates the persistent TUN device when absent (`ip tuntap add`: persistent, IFF_NO_PI, no owner;
   * `multi_queue` when several data-plane workers each attach a queue), so it outlives this process and
   * the data plane attaches to it by name. A device left by a previous run with the other queue mode
   * cannot be attached (the kernel refuses the flags): it is deleted and created again, which costs the
   * flows through it a moment, as any change of the worker count does. Returns true when created.
   */
  async ensureDevice(name: string, multiQueue = false): Promise<boolean> {
    if (await this.exists(name)) {
      const existing = await this.#queueMode(name);
      if (existing === null || existing === multiQueue) return false;
      this.#logger.warn(
        { tun: name, multiQueue, was: existing },
        'TUN device has the other queue mode (data-plane worker count changed); recreating it',
      );
      await this.#ip(['link', 'del', 'dev', name]);
    }
    await this.#ip(['tuntap', 'add', 'dev', name, 'mode', 'tun', ...(multiQueue ? ['multi_queue'] : [])]);
    this.#logger.info({ tun: name, multiQueue }, 'persistent TUN device created');
    return true;
  }

  /** What differs from the spec; empty when the device is configured as wanted. */
  async problems(spec: TunSpec): Promise<string[]> {
    const link = await this.#link(spec.name);
    if (link === null) return ['device missing'];
    const problems: string[] = [];
    if (!link.flags.includes('UP')) problems.push('link down');
    if (link.mtu !== spec.mtu) problems.push(`mtu ${link.mtu} instead of ${spec.mtu}`);
    if (link.txqlen !== undefined && link.txqlen < TUN_TX_QUEUE_LENGTH)
      problems.push(`txqueuelen ${link.txqlen} instead of ${TUN_TX_QUEUE_LENGTH}`);
    if (
      !this.#ipv6Unwritable &&
      (await this.#procSys.read(disableIpv6Path(spec.name)).catch(() => null)) === '0'
    )
      problems.push('ipv6 enabled');
    const addresses = await this.#addresses(spec.name);
    if (!addresses.includes(`${spec.address}/32`)) problems.push(`address ${spec.address}/32 missing`);
    if (!(await this.#hasRoute(spec))) problems.push(`route ${spec.network} missing`);
    return problems;
  }

  /** Brings the device to the spec: stale IPv4 addresses (an older lease) are removed. */
  async apply(spec: TunSpec): Promise<void> {
    const wanted = `${spec.address}/32`;
    for (const stale of (await this.#addresses(spec.name)).filter((address) => address !== wanted)) {
      this.#logger.info({ tun: spec.name, address: stale }, 'removing stale TUN address');
      await this.#ip(['addr', 'del', stale, 'dev', spec.name]);
    }
    // Before the link goes up, so the kernel never sends router solicitations or MLD reports into it.
    await this.#disableIpv6(spec.name);
    await this.#ip(['addr', 'replace', wanted, 'dev', spec.name]);
    await this.#ip([
      'link',
      'set',
      'dev',
      spec.name,
      'mtu',
      String(spec.mtu),
      'txqueuelen',
      String(TUN_TX_QUEUE_LENGTH),
      'up',
    ]);
    await this.#ip(['route', 'replace', spec.network, 'dev', spec.name, 'src', spec.address]);
  }

  /** Removes the route of a previous cluster network (config changed between runs); absent is fine. */
  async removeRoute(network: string, device: string): Promise<void> {
    const result = await this.#run('ip', ['route', 'del', network, 'dev', device]);
    if (result.code === 0)
      this.#logger.info({ network, tun: device }, 'removed route of the previous network');
  }

  /**
   * Absent entry: the kernel has no IPv6 (nothing to silence). A read-only /proc/sys (some
   * containers) only costs counted drops, so it is a warning, given once, not a failure.
   */
  async #disableIpv6(name: string): Promise<void> {
    if (this.#ipv6Unwritable) return;
    const path = disableIpv6Path(name);
    try {
      if ((await this.#procSys.read(path)) !== '0') return;
      await this.#procSys.write(path, '1');
    } catch (error) {
      this.#ipv6Unwritable = true;
      this.#logger.warn(
        { tun: name, path, err: error },
        'cannot disable IPv6 on the TUN; its IPv6 packets will be counted as not_ipv4 drops',
      );
    }
  }

  /** Whether the device is multi-queue; null when it is no TUN (no tun_flags): the data plane reports that. */
  async #queueMode(name: string): Promise<boolean | null> {
    const flags = await this.#procSys.read(`/sys/class/net/${name}/tun_flags`).catch(() => null);
    if (flags === null || !/^0x[0-9a-f]+$/i.test(flags)) return null;
    return (Number.parseInt(flags, 16) & IFF_MULTI_QUEUE) !== 0;
  }

  async #link(name: string): Promise<IpLink | null> {
    const result = await this.#run('ip', ['-j', 'link', 'show', 'dev', name]);
    if (result.code !== 0) return null;
    const links = JSON.parse(result.stdout || '[]') as IpLink[];
    return links[0] ?? null;
  }

  async #addresses(name: string): Promise<string[]> {
    const result = await this.#run('ip', ['-j', '-4', 'addr', 'show', 'dev', name]);
    if (result.code !== 0) return [];
    const entries = JSON.parse(result.stdout || '[]') as {
      addr_info?: { local?: string; prefixlen?: number }[];
    }[];
    return (entries[0]?.addr_info ?? []).map((info) => `${info.local}/${info.prefixlen}`);
  }

  async #hasRoute(spec: TunSpec): Promise<boolean> {
    const result = await this.#run('ip', [
      '-j',
      '-4',
      'route',
      'show',
      'exact',
      spec.network,
      'dev',
      spec.name,
    ]);
    if (result.code !== 0) return false;
    return (JSON.parse(result.stdout || '[]') as unknown[]).length > 0;
  }

  async #ip(args: string[]): Promise<void> {
    const result = await this.#run('ip', args);
    if (result.code !== 0) {
      throw new DaemonError(
        'DAEMON_HOST_SETUP',
        `ip ${args.join(' ')} failed: ${result.stderr.trim().split('\n')[0]}`,
      );
    }
  }
}
