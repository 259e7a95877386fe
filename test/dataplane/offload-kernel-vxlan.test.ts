/**
 * Interop with the Linux vxlan driver programmed exactly as Flannel's vxlan backend does it, with
 * felt's offloads on and NO checksum workaround on flannel.1: across a veth the kernel sends inner
 * TCP checksums unfinished (CHECKSUM_PARTIAL), and felt must complete them before its TUN. 50 MB of
 * TCP each way with matching sha256; felt's TUN super-packets go out as GSO runs the kernel accepts.
 *
 *   [nsF: felt0 10.244.1.0/32 (felt)] -- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 -- [nsK: flannel.1 10.244.2.0/32]
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/netns.js';
import {
  ADDRESS,
  addKernelVxlanPeer,
  nodeSpec,
  startForwarder,
  tcpTransfer,
  useUnderlayPair,
} from './fixtures.js';

describe('felt vxlan with offloads and a Flannel-style kernel vxlan peer (no ethtool workaround)', () => {
  // Node 0 runs felt, node 1 the kernel's flannel.1.
  let felt = '';
  let kernel = '';
  const { lab, snapshot } = useUnderlayPair('q', async ({ lab, ns, underlay, statusFile }) => {
    [felt, kernel] = ns;
    await addKernelVxlanPeer(lab, kernel, underlay);
    const spec = nodeSpec('vxlan', 0, underlay, { offloads: true, statusFile: statusFile(0) });
    await startForwarder(lab, felt, spec);
  });

  it('felt pings the kernel peer', async () => {
    const r = await lab.exec(felt, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.2.0']);
    expect(r.stdout).toMatch(/3 received/);
  });

  it('the kernel peer pings felt', async () => {
    const r = await lab.exec(kernel, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.1.0']);
    expect(r.stdout).toMatch(/3 received/);
  });

  it.each([
    ['felt', 'kernel'],
    ['kernel', 'felt'],
  ] as const)('carries 50 MB of TCP from the %s side to the %s side intact', async (from, to) => {
    const nsOf = { felt: () => felt, kernel: () => kernel };
    const addressOf = { felt: ADDRESS[0], kernel: ADDRESS[1] };
    const port = from === 'felt' ? 5003 : 5004;
    const { sentHash, gotBytes, gotHash } = await tcpTransfer(
      lab,
      nsOf[from](),
      nsOf[to](),
      addressOf[to],
      port,
      50_000_000,
      120_000,
    );
    expect(gotBytes).toBe('50000000');
    expect(gotHash).toBe(sentHash);
  });

  it('ran the offload path, completed the partial inner checksums and dropped nothing', async () => {
    const s = await waitFor(
      'counters',
      () => (snapshot(0).peers[0]?.rxBytes > 50_000_000 ? snapshot(0) : null),
      {
        timeoutMs: 5_000,
      },
    );
    console.log(JSON.stringify(s.offloads), s.innerChecksumsCompleted);
    expect(s.offloads.active).toBe(true);
    expect(s.offloads.superPackets).toBeGreaterThan(100);
    expect(s.offloads.gsoSends).toBeGreaterThan(100);
    expect(s.offloads.gsoFallbacks).toBe(0);
    expect(s.innerChecksumsCompleted).toBeGreaterThan(1000);
    const drops = Object.entries(s.drops).filter(
      ([reason, d]) => reason !== 'not_ipv4' && d.tx.packets + d.rx.packets > 0,
    );
    expect(drops).toEqual([]);
  });
});
