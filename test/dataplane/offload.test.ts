/**
 * Offloads on (TUN TSO/USO + coalesced writes, UDP GSO/GRO) between two felt forwarders in two
 * namespaces, per backend (udp, vxlan): a 50 MB TCP transfer each way arrives intact (sha256), and the
 * counters show the offload path did the work (super-packets split, GSO runs sent, GRO runs received,
 * coalesced TUN writes). With offloads: false the same transfer runs the plain loops.
 *
 *   [nsA: felt0 10.244.1.0/32] --- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 --- [nsB: felt0 10.244.2.0/32]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendType, DataplaneSnapshot } from '@felt/dataplane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, waitFor } from '../harness/netns.js';

const here = new URL('.', import.meta.url).pathname;
const OVERHEAD: Record<string, number> = { udp: 28, vxlan: 50 };
const PORT: Record<string, number> = { udp: 8285, vxlan: 8472 };
const MAC = ['0e:2a:00:00:00:0a', '0e:2a:00:00:00:0b'];
const SUBNET = ['10.244.1.0/24', '10.244.2.0/24'];
const ADDRESS = ['10.244.1.0', '10.244.2.0'];
const BYTES = 50_000_000;

const cases: Array<[BackendType, boolean]> = [
  ['vxlan', true],
  ['udp', true],
  ['vxlan', false],
];

describe.each(cases)('%s backend with offloads=%s between two namespaces', (backend, offloads) => {
  const lab = new Lab('o');
  const dir = mkdtempSync(join(tmpdir(), 'felt-off-'));
  const ns: string[] = [];
  const underlay = [`${lab.underlay}.1`, `${lab.underlay}.2`];
  const snapshot = (node: number): DataplaneSnapshot =>
    JSON.parse(readFileSync(join(dir, `status-${node}.json`), 'utf8')) as DataplaneSnapshot;

  beforeAll(async () => {
    ns.push(await lab.addNetns('a'), await lab.addNetns('b'));
    await lab.addVeth(ns[0], 'eth0', ns[1], 'eth0');
    for (const node of [0, 1]) {
      await lab.exec(ns[node], 'ip', ['addr', 'add', `${underlay[node]}/24`, 'dev', 'eth0']);
    }
    for (const node of [0, 1]) {
      const other = 1 - node;
      const spec = {
        config: {
          backend,
          tunName: 'felt0',
          persistTun: false,
          tunMtu: 1500 - OVERHEAD[backend],
          underlayAddress: underlay[node],
          port: PORT[backend],
          vni: 1,
          vtepMac: MAC[node],
          network: '10.244.0.0/16',
          subnet: SUBNET[node],
          offloads,
        },
        peers: [{ subnet: SUBNET[other], publicIp: underlay[other], vtepMac: MAC[other] }],
        statusFile: join(dir, `status-${node}.json`),
      };
      const proc = lab.spawn(
        ns[node],
        process.execPath,
        [join(here, 'forwarder-driver.mjs'), JSON.stringify(spec)],
        {
          label: `felt-${backend}-${node}`,
        },
      );
      await proc.waitForOutput(/ready felt0/, 15_000);
    }
  });

  afterAll(async () => {
    await lab.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the loops the configuration asks for', () => {
    for (const node of [0, 1]) expect(snapshot(node).offloads.active).toBe(offloads);
  });

  it.each([
    [0, 1],
    [1, 0],
  ])('carries 50 MB of TCP from node %i to node %i intact', async (from, to) => {
    const port = String(5100 + from);
    const sink = lab.spawn(ns[to], process.execPath, [join(here, 'tcp-sink.mjs'), ADDRESS[to], port]);
    await sink.waitForOutput(/listening/, 10_000);
    const source = lab.spawn(ns[from], process.execPath, [
      join(here, 'tcp-source.mjs'),
      ADDRESS[to],
      port,
      String(BYTES),
    ]);
    const [, , sentHash] = await source.waitForOutput(/sent (\d+) ([0-9a-f]{64})/, 120_000);
    const [, gotBytes, gotHash] = await sink.waitForOutput(/received (\d+) ([0-9a-f]{64})/, 120_000);
    expect(Number(gotBytes)).toBe(BYTES);
    expect(gotHash).toBe(sentHash);
    const peer = await waitFor(
      'counters to show the transfer',
      () => {
        const p = snapshot(from).peers[0];
        return p.txBytes > BYTES ? p : null;
      },
      { timeoutMs: 5_000 },
    );
    expect(peer.txPackets).toBeGreaterThan(BYTES / 1500);
  });

  it('counts the offload work (or none with offloads off) and no drops', () => {
    console.log(
      JSON.stringify({ backend, offloads, sender: snapshot(0).offloads, receiver: snapshot(1).offloads }),
    );
    const sender = snapshot(0).offloads;
    const receiver = snapshot(1).offloads;
    if (!offloads) {
      expect(sender.superPackets + receiver.tunWrites + receiver.groDatagrams).toBe(0);
      return;
    }
    expect(sender.superPackets).toBeGreaterThan(100);
    expect(sender.superPacketSegments / sender.superPackets).toBeGreaterThan(2);
    expect(sender.gsoSends).toBeGreaterThan(100);
    expect(sender.gsoSegments / sender.gsoSends).toBeGreaterThan(2);
    expect(sender.gsoFallbacks).toBe(0);
    expect(receiver.groDatagrams).toBeGreaterThan(0);
    expect(receiver.tunMergedPackets).toBeGreaterThan(1000);
    expect(receiver.tunWrites).toBeLessThan(snapshot(1).peers[0].rxPackets);
    for (const node of [0, 1]) {
      // not_ipv4: the kernel's own IPv6 router solicitations on the TUN (the overlay is IPv4 only).
      const drops = Object.entries(snapshot(node).drops).filter(
        ([reason, d]) => reason !== 'not_ipv4' && d.tx.packets + d.rx.packets > 0,
      );
      expect(drops).toEqual([]);
    }
  });
});

describe('a persistent TUN across restarts that switch offloads on → off → on', () => {
  const lab = new Lab('p');
  const ns: string[] = [];
  const underlay = [`${lab.underlay}.1`, `${lab.underlay}.2`];
  const spec = (node: number, offloads: boolean) => ({
    config: {
      backend: 'vxlan',
      tunName: 'felt0',
      persistTun: true,
      tunMtu: 1450,
      underlayAddress: underlay[node],
      port: 8472,
      vni: 1,
      vtepMac: MAC[node],
      network: '10.244.0.0/16',
      subnet: SUBNET[node],
      offloads,
    },
    peers: [{ subnet: SUBNET[1 - node], publicIp: underlay[1 - node], vtepMac: MAC[1 - node] }],
  });
  const start = async (node: number, offloads: boolean) => {
    const proc = lab.spawn(ns[node], process.execPath, [
      join(here, 'forwarder-driver.mjs'),
      JSON.stringify(spec(node, offloads)),
    ]);
    await proc.waitForOutput(/ready felt0/, 15_000);
    return proc;
  };
  const transfer = async (from: number, to: number, port: string) => {
    const sink = lab.spawn(ns[to], process.execPath, [join(here, 'tcp-sink.mjs'), ADDRESS[to], port]);
    await sink.waitForOutput(/listening/, 10_000);
    const source = lab.spawn(ns[from], process.execPath, [
      join(here, 'tcp-source.mjs'),
      ADDRESS[to],
      port,
      '5000000',
    ]);
    const [, , sent] = await source.waitForOutput(/sent (\d+) ([0-9a-f]{64})/, 60_000);
    const [, bytes, got] = await sink.waitForOutput(/received (\d+) ([0-9a-f]{64})/, 60_000);
    return { bytes: Number(bytes), same: sent === got };
  };

  beforeAll(async () => {
    ns.push(await lab.addNetns('a'), await lab.addNetns('b'));
    await lab.addVeth(ns[0], 'eth0', ns[1], 'eth0');
    for (const node of [0, 1]) {
      await lab.exec(ns[node], 'ip', ['addr', 'add', `${underlay[node]}/24`, 'dev', 'eth0']);
    }
    await start(1, true);
  });
  afterAll(() => lab.dispose());

  it('carries TCP intact both ways after each restart of node a', async () => {
    let port = 5200;
    for (const offloads of [true, false, true]) {
      const proc = await start(0, offloads);
      expect(await transfer(0, 1, String(port++))).toEqual({ bytes: 5_000_000, same: true });
      expect(await transfer(1, 0, String(port++))).toEqual({ bytes: 5_000_000, same: true });
      expect(await proc.stop(5_000)).toBe(0);
    }
  });
});
