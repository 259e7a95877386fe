// Shared set-up for the registry system tests: registries that are always closed, config writes, and a
// logger that records warnings so tests can assert "logged once".
import {
  type Lease,
  type NetworkConfig,
  parseNetworkConfig,
  SubnetRegistry,
  type SubnetRegistryOptions,
} from '@felt/registry';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type EtcdServer, startEtcd } from '../harness/etcd.js';

export const PREFIX = '/coreos.com/network';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export function recordingLogger(lines: LogLine[] = []) {
  const at =
    (level: LogLine['level']) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

export class Registries {
  private readonly all: SubnetRegistry[] = [];

  constructor(private readonly etcd: () => EtcdServer) {}

  open(options: Partial<SubnetRegistryOptions> = {}): SubnetRegistry {
    const registry = new SubnetRegistry({
      endpoints: [this.etcd().endpoint],
      callTimeoutMs: 3_000,
      ...options,
    });
    this.all.push(registry);
    return registry;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.all.splice(0).map((r) => r.close()));
  }
}

export async function putConfig(etcd: EtcdServer, json: string, prefix = PREFIX): Promise<NetworkConfig> {
  await etcd.etcdctl('put', `${prefix}/config`, json);
  return parseNetworkConfig(json);
}

/** Lease values under the subnets prefix, by key, read with etcdctl (not through our code). */
export async function leasesInEtcd(etcd: EtcdServer, prefix = PREFIX): Promise<Map<string, string>> {
  const out = await etcd.etcdctl('get', `${prefix}/subnets/`, '--prefix', '-w', 'json');
  const doc = JSON.parse(out) as { kvs?: { key: string; value: string }[] };
  const map = new Map<string, string>();
  for (const kv of doc.kvs ?? []) {
    map.set(Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString());
  }
  return map;
}

/** Records a peer watcher's events as short strings, in order. */
export function recordPeerEvents(watcher: {
  on(event: 'added' | 'removed', fn: (lease: Lease) => void): unknown;
  on(event: 'changed', fn: (lease: Lease, previous: Lease) => void): unknown;
}): string[] {
  const events: string[] = [];
  watcher.on('added', (l) => events.push(`added ${l.subnet} ${l.attrs.PublicIP}`));
  watcher.on('changed', (l, p) =>
    events.push(`changed ${l.subnet} ${p.attrs.PublicIP}->${l.attrs.PublicIP}`),
  );
  watcher.on('removed', (l) => events.push(`removed ${l.subnet}`));
  return events;
}

/** A lease value as a udp Flannel node writes it. */
export function udpLease(publicIp: string): string {
  return JSON.stringify({ PublicIP: publicIp, PublicIPv6: null });
}

export function subnetsKey(key: string, prefix = PREFIX): string {
  return `${prefix}/subnets/${key}`;
}

/**
 * One etcd for a describe block, emptied and with every registry closed after each test, stopped
 * (by PID) after the block. Read `etcd` from a test or a later hook, not at collection time.
 */
export function useRegistryEtcd(): { readonly etcd: EtcdServer; readonly registries: Registries } {
  let etcd: EtcdServer | undefined;
  const registries = new Registries(() => etcd!);
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterEach(async () => {
    await registries.closeAll();
    await etcd?.etcdctl('del', '/', '--prefix');
  });
  afterAll(async () => {
    await registries.closeAll();
    await etcd?.stop();
  });
  return {
    get etcd() {
      if (!etcd) throw new Error('etcd is not started yet (use it inside tests or hooks)');
      return etcd;
    },
    registries,
  };
}
