/**
 * Two felt forwarders in two namespaces joined by a veth (the underlay), per backend: ping, a 20 MB
 * TCP transfer with matching sha256, ICMP errors for TTL expiry and no route, and crafted packets
 * (spoofed inner source, wrong VNI) dropped and counted.
 *
 *   [nsA: felt0 10.244.1.0/32] --- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 --- [nsB: felt0 10.244.2.0/32]
 */
import { join } from 'node:path';
import type { BackendType } from '@felt/dataplane';
import { describe, expect, it } from 'vitest';
import type { ManagedProcess } from '../harness/netns.js';
import { waitFor } from '../harness/netns.js';
import {
  here,
  MAC,
  nodeSpec,
  PORT,
  SUBNET,
  startForwarder,
  tcpTransfer,
  useUnderlayPair,
} from './fixtures.js';

describe.each<BackendType>(['udp', 'vxlan', 'ipip'])('%s backend between two namespaces', (backend) => {
  const forwarders: ManagedProcess[] = [];
  const { lab, ns, underlay, snapshot } = useUnderlayPair('d', async ({ lab, ns, underlay, statusFile }) => {
    for (const node of [0, 1]) {
      const spec = nodeSpec(backend, node, underlay, { statusFile: statusFile(node) });
      forwarders.push(await startForwarder(lab, ns[node], spec, `felt-${backend}-${node}`));
    }
  });

  it('answers ping both ways', async () => {
    const there = await lab.exec(ns[0], 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.2.0']);
    expect(there.stdout).toMatch(/3 received/);
    const back = await lab.exec(ns[1], 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.1.0']);
    expect(back.stdout).toMatch(/3 received/);
  });

  it('carries a 20 MB TCP transfer intact and counts it per peer', async () => {
    const { sentBytes, sentHash, gotBytes, gotHash } = await tcpTransfer(
      lab,
      ns[0],
      ns[1],
      '10.244.2.0',
      5001,
      20_000_000,
      120_000,
    );
    expect(gotBytes).toBe(sentBytes);
    expect(gotHash).toBe(sentHash);
    const peer = await waitFor(
      'counters to show the transfer',
      () => {
        const p = snapshot(0).peers[0];
        return p.txBytes > 20_000_000 ? p : null;
      },
      { timeoutMs: 5_000 },
    );
    expect(peer.subnet).toBe(SUBNET[1]);
    expect(peer.rxPackets).toBeGreaterThan(0);
    expect(peer.lastReceiveSeconds).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(snapshot(0).underlayBytes.tx).toBeGreaterThan(20_000_000);
  });

  it('answers TTL expiry with ICMP time exceeded from the peer tunnel address', async () => {
    const r = await lab.exec(ns[0], 'ping', ['-c', '1', '-t', '1', '-W', '2', '10.244.2.0'], {
      allowFail: true,
    });
    expect(r.stdout).toMatch(/From 10\.244\.2\.0 .*Time to live exceeded/);
    await waitFor('ttl_exceeded drop', () => snapshot(0).drops.ttl_exceeded.tx.packets > 0, {
      timeoutMs: 5_000,
    });
  });

  it('answers an address no peer owns with ICMP net unreachable', async () => {
    const r = await lab.exec(ns[0], 'ping', ['-c', '1', '-W', '2', '10.244.99.1'], { allowFail: true });
    expect(r.stdout).toMatch(/From 10\.244\.0\.0 .*Destination Net Unreachable/);
    await waitFor('no_route drop', () => snapshot(0).drops.no_route.tx.packets > 0, { timeoutMs: 5_000 });
  });

  it('drops and counts a packet whose inner source is outside the sender lease', async () => {
    const before = snapshot(1).drops.spoofed_source.rx.packets;
    await lab.exec(ns[0], 'python3', [
      join(here, 'send-crafted.py'),
      backend,
      underlay[1],
      String(PORT[backend]),
      '1',
      MAC[1],
      '10.244.7.7',
      '10.244.2.0',
    ]);
    await waitFor('spoofed_source drop', () => snapshot(1).drops.spoofed_source.rx.packets === before + 1, {
      timeoutMs: 5_000,
    });
  });

  it.runIf(backend === 'vxlan')('drops and counts a frame with the wrong VNI', async () => {
    const before = snapshot(1).drops.wrong_vni.rx.packets;
    await lab.exec(ns[0], 'python3', [
      join(here, 'send-crafted.py'),
      backend,
      underlay[1],
      '8472',
      '2',
      MAC[1],
      '10.244.1.5',
      '10.244.2.0',
    ]);
    await waitFor('wrong_vni drop', () => snapshot(1).drops.wrong_vni.rx.packets === before + 1, {
      timeoutMs: 5_000,
    });
  });

  it('stops cleanly on SIGTERM and removes its TUN device', async () => {
    expect(await forwarders[0].stop(5_000)).toBe(0);
    const links = await lab.exec(ns[0], 'ip', ['-o', 'link', 'show']);
    expect(links.stdout).not.toMatch(/felt0/);
  });
});
