/**
 * Lifecycle of one forwarder in a namespace: a persistent TUN device survives stop and a new forwarder
 * re-attaches to it and forwards; deleting the TUN device under a running forwarder is a 'fatal' event
 * with a stable code, not a crash or a hang.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../harness/netns.js';

const here = new URL('.', import.meta.url).pathname;

describe('forwarder lifecycle', () => {
  const lab = new Lab('l');
  let ns = '';
  const spec = (persistTun: boolean, extra: object = {}) =>
    JSON.stringify({
      config: {
        backend: 'udp',
        tunName: 'felt0',
        persistTun,
        tunMtu: 1472,
        underlayAddress: `${lab.underlay}.1`,
        port: 8285,
        vni: 1,
        vtepMac: '0e:2a:00:00:00:01',
        network: '10.244.0.0/16',
        subnet: '10.244.1.0/24',
      },
      peers: [],
      ...extra,
    });
  const start = async (persistTun: boolean, extra: object = {}) => {
    const proc = lab.spawn(ns, process.execPath, [
      join(here, 'forwarder-driver.mjs'),
      spec(persistTun, extra),
    ]);
    await proc.waitForOutput(/ready felt0/, 15_000);
    return proc;
  };
  const unreachable = async () => {
    const r = await lab.exec(ns, 'ping', ['-c', '1', '-W', '2', '10.244.9.9'], { allowFail: true });
    return r.stdout;
  };

  beforeAll(async () => {
    ns = await lab.addNetns('n');
    const peer = await lab.addNetns('p');
    await lab.addVeth(ns, 'eth0', peer, 'eth0');
    await lab.exec(ns, 'ip', ['addr', 'add', `${lab.underlay}.1/24`, 'dev', 'eth0']);
  });

  afterAll(() => lab.dispose());

  it('keeps a persistent TUN device across a restart and forwards again on it', async () => {
    const first = await start(true);
    expect(await unreachable()).toMatch(/Destination Net Unreachable/);
    expect(await first.stop(5_000)).toBe(0);
    const links = await lab.exec(ns, 'ip', ['-o', 'link', 'show', 'felt0']);
    expect(links.stdout).toMatch(/felt0/);
    const second = await start(true);
    expect(await unreachable()).toMatch(/Destination Net Unreachable/);
    expect(await second.stop(5_000)).toBe(0);
    await lab.exec(ns, 'ip', ['link', 'del', 'felt0']);
  });

  it('answers a too-big packet with DF by ICMP fragmentation needed carrying the tunnel MTU', async () => {
    // The TUN link lets 1500-byte packets in although the data plane's tunnel MTU is 1472.
    const proc = await start(false, {
      linkMtu: 1500,
      peers: [{ subnet: '10.244.2.0/24', publicIp: `${lab.underlay}.2` }],
    });
    try {
      const ping = () =>
        lab.exec(ns, 'ping', ['-c', '1', '-W', '2', '-s', '1472', '-M', 'do', '10.244.2.0'], {
          allowFail: true,
        });
      const first = await ping();
      expect(first.stdout).toMatch(/From 10\.244\.2\.0 .*Frag needed and DF set \(mtu = 1472\)/);
      // The kernel learned the path MTU: the next oversized ping fails locally.
      const second = await ping();
      expect(second.stdout + second.stderr).toMatch(/mtu=1472|message too long/i);
    } finally {
      expect(await proc.stop(5_000)).toBe(0);
    }
  });

  it('reports a deleted TUN device as fatal (NETIO_DEVICE_GONE) and exits', async () => {
    const proc = await start(false);
    await lab.exec(ns, 'ip', ['link', 'del', 'felt0']);
    await proc.waitForOutput(/fatal .*NETIO_DEVICE_GONE/, 10_000);
    expect(await proc.exited).toBe(3);
  });
});
