/**
 * Interop with a Linux ipip tunnel set up as Flannel's ipip backend does it (device flannel.ipip, local =
 * the node's address, path MTU discovery on, MTU 1480, the lease's .0/32 on it, an onlink route per
 * remote lease via its public IP). Needs the kernel's ipip driver: where it is missing (as on the
 * development VM) the tests skip and say so; felt↔felt ipip is covered by two-nodes.test.ts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../harness/netns.js';

const here = new URL('.', import.meta.url).pathname;

describe('felt ipip and a Flannel-style kernel ipip peer', () => {
  const lab = new Lab('i');
  let felt = '';
  let kernel = '';
  let unsupported = '';
  const feltIp = `${lab.underlay}.1`;
  const kernelIp = `${lab.underlay}.2`;

  beforeAll(async () => {
    felt = await lab.addNetns('f');
    kernel = await lab.addNetns('k');
    await lab.addVeth(felt, 'eth0', kernel, 'eth0');
    await lab.exec(felt, 'ip', ['addr', 'add', `${feltIp}/24`, 'dev', 'eth0']);
    await lab.exec(kernel, 'ip', ['addr', 'add', `${kernelIp}/24`, 'dev', 'eth0']);
    const created = await lab.exec(
      kernel,
      'ip',
      ['link', 'add', 'flannel.ipip', 'type', 'ipip', 'local', kernelIp, 'pmtudisc'],
      { allowFail: true },
    );
    if (created.code !== 0) {
      unsupported = `this kernel has no ipip driver (ip link add type ipip: ${created.stderr.trim()})`;
      return;
    }
    const k = (...args: string[]) => lab.exec(kernel, 'ip', args);
    await k('link', 'set', 'flannel.ipip', 'mtu', '1480', 'up');
    await k('addr', 'add', '10.244.2.0/32', 'dev', 'flannel.ipip');
    await k('route', 'replace', '10.244.1.0/24', 'via', feltIp, 'dev', 'flannel.ipip', 'onlink');
    const spec = {
      config: {
        backend: 'ipip',
        tunName: 'felt0',
        persistTun: false,
        tunMtu: 1480,
        underlayAddress: feltIp,
        port: 0,
        vni: 1,
        vtepMac: '',
        network: '10.244.0.0/16',
        subnet: '10.244.1.0/24',
      },
      peers: [{ subnet: '10.244.2.0/24', publicIp: kernelIp }],
    };
    const proc = lab.spawn(felt, process.execPath, [
      join(here, 'forwarder-driver.mjs'),
      JSON.stringify(spec),
    ]);
    await proc.waitForOutput(/ready felt0/, 15_000);
  });

  afterAll(() => lab.dispose());

  it('felt pings the kernel peer', async (ctx) => {
    if (unsupported) ctx.skip(unsupported);
    const r = await lab.exec(felt, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.2.0']);
    expect(r.stdout).toMatch(/3 received/);
  });

  it('the kernel peer pings felt', async (ctx) => {
    if (unsupported) ctx.skip(unsupported);
    const r = await lab.exec(kernel, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.244.1.0']);
    expect(r.stdout).toMatch(/3 received/);
  });
});
