/**
 * Set-up shared by the data-plane system tests: two namespaces joined by a veth (the underlay), felt
 * forwarders started through forwarder-driver.mjs, a kernel vxlan peer programmed as Flannel does it,
 * status snapshots and TCP transfers between the namespaces.
 *
 *   [ns 0: felt0 10.244.1.0/32] --- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 --- [ns 1: 10.244.2.0/32]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendType, DataplaneSnapshot } from '@felt/dataplane';
import { afterAll, beforeAll } from 'vitest';
import { Lab, type ManagedProcess } from '../harness/netns.js';

export const here = new URL('.', import.meta.url).pathname;
export const OVERHEAD: Record<BackendType, number> = { udp: 28, vxlan: 50, ipip: 20 };
export const PORT: Record<BackendType, number> = { udp: 8285, vxlan: 8472, ipip: 0 };
/** Per node: VTEP MAC, lease, and the lease's .0 address (the TUN's). */
export const MAC = ['0e:2a:00:00:00:0a', '0e:2a:00:00:00:0b'];
export const SUBNET = ['10.244.1.0/24', '10.244.2.0/24'];
export const ADDRESS = ['10.244.1.0', '10.244.2.0'];

/** Joins the two nodes' namespaces by a veth (eth0 on both sides) carrying the underlay addresses. */
async function joinUnderlay(lab: Lab, ns: string[], underlay: string[]): Promise<void> {
  await lab.addVeth(ns[0], 'eth0', ns[1], 'eth0');
  for (const node of [0, 1]) {
    await lab.exec(ns[node], 'ip', ['addr', 'add', `${underlay[node]}/24`, 'dev', 'eth0']);
  }
}

export interface UnderlayPair {
  readonly lab: Lab;
  /** Node 0's and node 1's namespaces (filled in by beforeAll). */
  readonly ns: string[];
  readonly underlay: string[];
  /** Where node `node`'s forwarder writes its status snapshot, when its spec names it. */
  statusFile(node: number): string;
  snapshot(node: number): DataplaneSnapshot;
}

/**
 * Registers beforeAll/afterAll for the current describe: a Lab with two namespaces joined by the
 * underlay veth, then `setUp` (start forwarders, program a kernel peer); everything is removed after.
 */
export function useUnderlayPair(tag: string, setUp: (pair: UnderlayPair) => Promise<void>): UnderlayPair {
  const lab = new Lab(tag);
  const dir = mkdtempSync(join(tmpdir(), `felt-${tag}-`));
  const statusFile = (node: number) => join(dir, `status-${node}.json`);
  const pair: UnderlayPair = {
    lab,
    ns: [],
    underlay: [`${lab.underlay}.1`, `${lab.underlay}.2`],
    statusFile,
    snapshot: (node) => readSnapshot(statusFile(node)),
  };
  beforeAll(async () => {
    pair.ns.push(await lab.addNetns('a'), await lab.addNetns('b'));
    await joinUnderlay(lab, pair.ns, pair.underlay);
    await setUp(pair);
  });
  afterAll(async () => {
    await lab.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  return pair;
}

export interface NodeOptions {
  offloads?: boolean;
  persistTun?: boolean;
  statusFile?: string;
}

/** The forwarder driver's spec for `node` (0 or 1), with the other node as its only peer. */
export function nodeSpec(backend: BackendType, node: number, underlay: string[], options: NodeOptions = {}) {
  const other = 1 - node;
  return {
    config: {
      backend,
      tunName: 'felt0',
      persistTun: options.persistTun ?? false,
      tunMtu: 1500 - OVERHEAD[backend],
      underlayAddress: underlay[node],
      port: PORT[backend],
      vni: 1,
      vtepMac: MAC[node],
      network: '10.244.0.0/16',
      subnet: SUBNET[node],
      offloads: options.offloads,
    },
    peers: [{ subnet: SUBNET[other], publicIp: underlay[other], vtepMac: MAC[other] }],
    statusFile: options.statusFile,
  };
}

/** Starts a forwarder in `netns` and waits until its TUN is up. */
export async function startForwarder(
  lab: Lab,
  netns: string,
  spec: ReturnType<typeof nodeSpec>,
  label?: string,
): Promise<ManagedProcess> {
  const proc = lab.spawn(
    netns,
    process.execPath,
    [join(here, 'forwarder-driver.mjs'), JSON.stringify(spec)],
    {
      label,
    },
  );
  await proc.waitForOutput(/ready felt0/, 15_000);
  return proc;
}

function readSnapshot(statusFile: string): DataplaneSnapshot {
  return JSON.parse(readFileSync(statusFile, 'utf8')) as DataplaneSnapshot;
}

/**
 * Programs node 1's namespace as a Flannel vxlan node (flannel.md §4) with node 0 as its peer: device,
 * MAC, MTU, .0/32 address; then for the remote lease a permanent neighbour, a permanent FDB entry and an
 * onlink route, in that order.
 */
export async function addKernelVxlanPeer(lab: Lab, netns: string, underlay: string[]): Promise<void> {
  const k = (...args: string[]) => lab.exec(netns, args[0], args.slice(1));
  await k(
    'ip',
    'link',
    'add',
    'flannel.1',
    'type',
    'vxlan',
    'id',
    '1',
    'dstport',
    '8472',
    'nolearning',
    'local',
    underlay[1],
    'dev',
    'eth0',
  );
  await k('ip', 'link', 'set', 'flannel.1', 'address', MAC[1], 'mtu', '1450', 'up');
  await k('ip', 'addr', 'add', `${ADDRESS[1]}/32`, 'dev', 'flannel.1');
  await k('ip', 'neigh', 'replace', ADDRESS[0], 'lladdr', MAC[0], 'dev', 'flannel.1', 'nud', 'permanent');
  await k('bridge', 'fdb', 'replace', MAC[0], 'dev', 'flannel.1', 'dst', underlay[0], 'self', 'permanent');
  await k('ip', 'route', 'replace', SUBNET[0], 'via', ADDRESS[0], 'dev', 'flannel.1', 'onlink');
}

export interface TransferResult {
  sentBytes: string;
  sentHash: string;
  gotBytes: string;
  gotHash: string;
}

/** Sends `bytes` of TCP from `fromNs` to `address`:`port` in `toNs` (tcp-source/tcp-sink); both sides' count and sha256. */
export async function tcpTransfer(
  lab: Lab,
  fromNs: string,
  toNs: string,
  address: string,
  port: number,
  bytes: number,
  timeoutMs: number,
): Promise<TransferResult> {
  const sink = lab.spawn(toNs, process.execPath, [join(here, 'tcp-sink.mjs'), address, String(port)]);
  await sink.waitForOutput(/listening/, 10_000);
  const source = lab.spawn(fromNs, process.execPath, [
    join(here, 'tcp-source.mjs'),
    address,
    String(port),
    String(bytes),
  ]);
  const [, sentBytes, sentHash] = await source.waitForOutput(/sent (\d+) ([0-9a-f]{64})/, timeoutMs);
  const [, gotBytes, gotHash] = await sink.waitForOutput(/received (\d+) ([0-9a-f]{64})/, timeoutMs);
  return { sentBytes, sentHash, gotBytes, gotHash };
}
