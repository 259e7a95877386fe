/**
 * Interop with the Linux vxlan driver programmed exactly as Flannel's vxlan backend does it: felt in
 * one namespace, a kernel `flannel.1` in the other; ping both ways and a TCP transfer.
 *
 *   [nsF: felt0 10.244.1.0/32 (felt)] -- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 -- [nsK: flannel.1 10.244.2.0/32]
 */
import { describe, expect, it } from 'vitest';
import {
  ADDRESS,
  addKernelVxlanPeer,
  nodeSpec,
  startForwarder,
  tcpTransfer,
  useUnderlayPair,
} from './fixtures.js';

describe('felt vxlan and a Flannel-style kernel vxlan peer', () => {
  // Node 0 runs felt, node 1 the kernel's flannel.1.
  let felt = '';
  let kernel = '';
  const { lab, snapshot } = useUnderlayPair('k', async ({ lab, ns, underlay, statusFile }) => {
    [felt, kernel] = ns;
    await addKernelVxlanPeer(lab, kernel, underlay);
    // Over a veth nobody finishes offloaded checksums: the kernel's inner TCP checksum would reach
    // felt's socket still partial (a NIC, or the kernel before a real wire, completes it). Compute it
    // in software, as it is on any real link.
    await lab.exec(kernel, 'ethtool', ['-K', 'flannel.1', 'tx', 'off']);
    const spec = nodeSpec('vxlan', 0, underlay, { statusFile: statusFile(0) });
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

  it('carries full-size frames both ways (TCP transfer with matching sha256)', async () => {
    const { sentHash, gotBytes, gotHash } = await tcpTransfer(
      lab,
      felt,
      kernel,
      ADDRESS[1],
      5002,
      5_000_000,
      60_000,
    );
    expect(gotBytes).toBe('5000000');
    expect(gotHash).toBe(sentHash);
    const drops = Object.entries(snapshot(0).drops).filter(([, d]) => d.rx.packets > 0);
    expect(drops).toEqual([]);
  });
});
