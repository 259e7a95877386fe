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
  const spec = (persistTun: boolean) =>
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
    });
  const start = async (persistTun: boolean) => {
    const proc = lab.spawn(ns, process.execPath, [join(here, 'forwarder-driver.mjs'), spec(persistTun)]);
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

  it('reports a deleted TUN device as fatal (NETIO_DEVICE_GONE) and exits', async () => {
    const proc = await start(false);
    await lab.exec(ns, 'ip', ['link', 'del', 'felt0']);
    await proc.waitForOutput(/fatal .*NETIO_DEVICE_GONE/, 10_000);
    expect(await proc.exited).toBe(3);
  });
});
