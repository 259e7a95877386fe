/**
 * Small packets with offloads on, between two felt forwarders in two namespaces, per backend: bursts of
 * 64-byte UDP datagrams (each burst read from the TUN in one batch) go out gathered into UDP_SEGMENT
 * messages and come back out of the peer's TUN intact, in order, with valid inner checksums (the
 * receiving kernel counts none bad).
 *
 *   [nsA: felt0 10.244.1.0/32] --- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 --- [nsB: felt0 10.244.2.0/32]
 */

import { join } from 'node:path';
import type { BackendType } from '@felt/dataplane';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';
import { ADDRESS, here, nodeSpec, startForwarder, useUnderlayPair } from './fixtures.js';

const DATAGRAMS = 20_000;
const BURST = 64;
const SIZE = 64;

/** Udp InCsumErrors from a namespace's /proc/net/snmp. */
function udpChecksumErrors(snmp: string): number {
  const lines = snmp.split('\n').filter((line) => line.startsWith('Udp:'));
  const names = lines[0].split(/\s+/);
  const values = lines[1].split(/\s+/);
  return Number(values[names.indexOf('InCsumErrors')]);
}

describe.each(['vxlan', 'udp'] as BackendType[])(
  '%s backend, offloads on: bursts of small packets',
  (backend) => {
    const { lab, ns, snapshot } = useUnderlayPair('s', async ({ lab, ns, underlay, statusFile }) => {
      for (const node of [0, 1]) {
        const spec = nodeSpec(backend, node, underlay, { offloads: true, statusFile: statusFile(node) });
        await startForwarder(lab, ns[node], spec, `felt-${backend}-${node}`);
      }
    });

    it('arrive intact and in order, gathered into GSO messages on the way', async () => {
      const args = [String(6000), String(DATAGRAMS)];
      const sink = lab.spawn(ns[1], process.execPath, [
        join(here, 'udp-sink.mjs'),
        ADDRESS[1],
        ...args,
        String(SIZE),
      ]);
      await sink.waitForOutput(/listening/, 10_000);
      const source = lab.spawn(ns[0], process.execPath, [
        join(here, 'udp-burst-source.mjs'),
        ADDRESS[1],
        ...args,
        String(BURST),
        String(SIZE),
      ]);
      await source.waitForOutput(/sent \d+/, 60_000);
      const [, received, corrupt, reordered] = await sink.waitForOutput(
        /received (\d+) corrupt (\d+) reordered (\d+)/,
        30_000,
      );
      expect({ corrupt: Number(corrupt), reordered: Number(reordered) }).toEqual({
        corrupt: 0,
        reordered: 0,
      });
      // A few may be lost to a full queue on a busy machine; a bad inner checksum would lose them all.
      expect(Number(received)).toBeGreaterThan(0.95 * DATAGRAMS);
      const snmp = await lab.exec(ns[1], 'cat', ['/proc/net/snmp']);
      expect(udpChecksumErrors(snmp.stdout)).toBe(0);

      // Snapshots are written every 100 ms: wait for one that counts the whole run.
      const counted = (node: number, field: 'txPackets' | 'rxPackets') =>
        snapshot(node).peers[0][field] >= Number(received);
      await waitFor(
        'both snapshots to count the run',
        () => counted(0, 'txPackets') && counted(1, 'rxPackets'),
        {
          timeoutMs: 5_000,
        },
      );
      const sender = snapshot(0).offloads;
      const receiver = snapshot(1).offloads;
      console.log(JSON.stringify({ backend, sender, receiver }));
      expect(sender.gsoFallbacks).toBe(0);
      expect(sender.gsoSends).toBeGreaterThan(0);
      expect(sender.gsoSegments / sender.gsoSends).toBeGreaterThan(4);
      expect(receiver.groDatagrams).toBeGreaterThan(0);
    });
  },
);
