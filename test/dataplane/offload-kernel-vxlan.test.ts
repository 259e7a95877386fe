/**
 * Interop with the Linux vxlan driver programmed exactly as Flannel's vxlan backend does it, with
 * felt's offloads on and NO checksum workaround on flannel.1: across a veth the kernel sends inner
 * TCP checksums unfinished (CHECKSUM_PARTIAL), and felt must complete them before its TUN. 50 MB of
 * TCP each way with matching sha256; felt's TUN super-packets go out as GSO runs the kernel accepts.
 *
 *   [nsF: felt0 10.244.1.0/32 (felt)] -- eth0 <underlay>.1 ==veth== <underlay>.2 eth0 -- [nsK: flannel.1 10.244.2.0/32]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataplaneSnapshot } from '@felt/dataplane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, waitFor } from '../harness/netns.js';

const here = new URL('.', import.meta.url).pathname;
const FELT_MAC = '0e:2a:00:00:01:01';
const KERNEL_MAC = '0e:2a:00:00:02:02';

describe('felt vxlan with offloads and a Flannel-style kernel vxlan peer (no ethtool workaround)', () => {
  const lab = new Lab('q');
  const dir = mkdtempSync(join(tmpdir(), 'felt-kvx-'));
  let felt = '';
  let kernel = '';
  const feltIp = `${lab.underlay}.1`;
  const kernelIp = `${lab.underlay}.2`;
  const snapshot = (): DataplaneSnapshot =>
    JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as DataplaneSnapshot;

  beforeAll(async () => {
    felt = await lab.addNetns('f');
    kernel = await lab.addNetns('k');
    await lab.addVeth(felt, 'eth0', kernel, 'eth0');
    await lab.exec(felt, 'ip', ['addr', 'add', `${feltIp}/24`, 'dev', 'eth0']);
    await lab.exec(kernel, 'ip', ['addr', 'add', `${kernelIp}/24`, 'dev', 'eth0']);

    // Flannel's vxlan backend (flannel.md §4): device, MAC, MTU, .0/32 address; then per remote lease a
    // permanent neighbour, a permanent FDB entry and an onlink route, in that order.
    const k = (...args: string[]) => lab.exec(kernel, args[0], args.slice(1));
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
      kernelIp,
      'dev',
      'eth0',
    );
    await k('ip', 'link', 'set', 'flannel.1', 'address', KERNEL_MAC, 'mtu', '1450', 'up');
    await k('ip', 'addr', 'add', '10.244.2.0/32', 'dev', 'flannel.1');
    await k(
      'ip',
      'neigh',
      'replace',
      '10.244.1.0',
      'lladdr',
      FELT_MAC,
      'dev',
      'flannel.1',
      'nud',
      'permanent',
    );
    await k('bridge', 'fdb', 'replace', FELT_MAC, 'dev', 'flannel.1', 'dst', feltIp, 'self', 'permanent');
    await k('ip', 'route', 'replace', '10.244.1.0/24', 'via', '10.244.1.0', 'dev', 'flannel.1', 'onlink');

    const spec = {
      config: {
        backend: 'vxlan',
        tunName: 'felt0',
        persistTun: false,
        tunMtu: 1450,
        underlayAddress: feltIp,
        port: 8472,
        vni: 1,
        vtepMac: FELT_MAC,
        network: '10.244.0.0/16',
        subnet: '10.244.1.0/24',
        offloads: true,
      },
      peers: [{ subnet: '10.244.2.0/24', publicIp: kernelIp, vtepMac: KERNEL_MAC }],
      statusFile: join(dir, 'status.json'),
    };
    const proc = lab.spawn(felt, process.execPath, [
      join(here, 'forwarder-driver.mjs'),
      JSON.stringify(spec),
    ]);
    await proc.waitForOutput(/ready felt0/, 15_000);
  });

  afterAll(async () => {
    await lab.dispose();
    rmSync(dir, { recursive: true, force: true });
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
    const addressOf = { felt: '10.244.1.0', kernel: '10.244.2.0' };
    const port = from === 'felt' ? '5003' : '5004';
    const sink = lab.spawn(nsOf[to](), process.execPath, [join(here, 'tcp-sink.mjs'), addressOf[to], port]);
    await sink.waitForOutput(/listening/, 10_000);
    const source = lab.spawn(nsOf[from](), process.execPath, [
      join(here, 'tcp-source.mjs'),
      addressOf[to],
      port,
      '50000000',
    ]);
    const [, , sentHash] = await source.waitForOutput(/sent (\d+) ([0-9a-f]{64})/, 120_000);
    const [, gotBytes, gotHash] = await sink.waitForOutput(/received (\d+) ([0-9a-f]{64})/, 120_000);
    expect(gotBytes).toBe('50000000');
    expect(gotHash).toBe(sentHash);
  });

  it('ran the offload path, completed the partial inner checksums and dropped nothing', async () => {
    const s = await waitFor(
      'counters',
      () => (snapshot().peers[0]?.rxBytes > 50_000_000 ? snapshot() : null),
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
