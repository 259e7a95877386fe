/**
 * Offloads on (TUN TSO/USO + coalesced writes, UDP GSO/GRO) between two felt forwarders in two
 * namespaces, per backend (udp, vxlan): a 50 MB TCP transfer each way arrives intact (sha256), and the
 * counters show the offload path did the work (super-packets split, GSO runs sent, GRO runs received,
 * coalesced TUN writes). With offloads: false the same transfer runs the plain loops.
 *
 *   [nsA: felt0 10.244.1.0/32] --- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 --- [nsB: felt0 10.244.2.0/32]
 */
import type { BackendType } from '@felt/dataplane';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';
import { ADDRESS, nodeSpec, startForwarder, tcpTransfer, useUnderlayPair } from './fixtures.js';

const BYTES = 50_000_000;

const cases: Array<[BackendType, boolean]> = [
  ['vxlan', true],
  ['udp', true],
  ['vxlan', false],
];

describe.each(cases)('%s backend with offloads=%s between two namespaces', (backend, offloads) => {
  const { lab, ns, snapshot } = useUnderlayPair('o', async ({ lab, ns, underlay, statusFile }) => {
    for (const node of [0, 1]) {
      const spec = nodeSpec(backend, node, underlay, { offloads, statusFile: statusFile(node) });
      await startForwarder(lab, ns[node], spec, `felt-${backend}-${node}`);
    }
  });

  it('runs the loops the configuration asks for', () => {
    for (const node of [0, 1]) expect(snapshot(node).offloads.active).toBe(offloads);
  });

  it.each([
    [0, 1],
    [1, 0],
  ])('carries 50 MB of TCP from node %i to node %i intact', async (from, to) => {
    const { sentHash, gotBytes, gotHash } = await tcpTransfer(
      lab,
      ns[from],
      ns[to],
      ADDRESS[to],
      5100 + from,
      BYTES,
      120_000,
    );
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
  const { lab, ns, underlay } = useUnderlayPair('p', async () => {
    await start(1, true); // node b stays up; node a restarts
  });
  const start = (node: number, offloads: boolean) =>
    startForwarder(lab, ns[node], nodeSpec('vxlan', node, underlay, { offloads, persistTun: true }));
  const transfer = async (from: number, to: number, port: number) => {
    const r = await tcpTransfer(lab, ns[from], ns[to], ADDRESS[to], port, 5_000_000, 60_000);
    return { bytes: Number(r.gotBytes), same: r.sentHash === r.gotHash };
  };

  it('carries TCP intact both ways after each restart of node a', async () => {
    let port = 5200;
    for (const offloads of [true, false, true]) {
      const proc = await start(0, offloads);
      expect(await transfer(0, 1, port++)).toEqual({ bytes: 5_000_000, same: true });
      expect(await transfer(1, 0, port++)).toEqual({ bytes: 5_000_000, same: true });
      expect(await proc.stop(5_000)).toBe(0);
    }
  });
});
