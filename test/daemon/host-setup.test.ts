// Host setup and iptables on the real kernel, inside a throwaway namespace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../packages/daemon/src/exec.js';
import type { ProcSys } from '../../packages/daemon/src/host/proc-sys.js';
import { TUN_TX_QUEUE_LENGTH, TunHost } from '../../packages/daemon/src/host/tun-setup.js';
import { detectUnderlay, systemUnderlay } from '../../packages/daemon/src/host/underlay.js';
import { IptablesManager } from '../../packages/daemon/src/iptables/manager.js';
import { forwardRules, masqRules } from '../../packages/daemon/src/iptables/rules.js';
import { Lab, sh } from '../harness/netns.js';
import { commandsIn, procSysIn } from './in-netns.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const lab = new Lab('h');
let netns: string;
let run: CommandRunner;
/** /proc/sys of the test namespace (this process lives in the root one). */
let procSys: ProcSys;

beforeAll(async () => {
  netns = await lab.addNetns('h');
  const peer = await lab.addNetns('p');
  await lab.addVeth(netns, 'veth0', peer, 'veth0');
  await sh('ip', ['addr', 'add', `${lab.underlay}.1/24`, 'dev', 'veth0'], { netns });
  await sh('ip', ['link', 'set', 'veth0', 'mtu', '1400'], { netns });
  run = commandsIn(netns);
  procSys = procSysIn(netns);
});
afterAll(() => lab.dispose());

describe('underlay detection in a namespace', () => {
  it('finds the only non-loopback interface, its address and MTU; --iface by address works too', async () => {
    const system = systemUnderlay(run);
    // /sys/class/net is per-namespace only for processes inside it: read the MTU through ip instead.
    system.mtu = async (iface) => {
      const result = await run('cat', [`/sys/class/net/${iface}/mtu`]);
      return Number(result.stdout.trim());
    };
    expect(await detectUnderlay(system, { iface: [], publicIp: null })).toEqual({
      iface: 'veth0',
      ifaceAddress: `${lab.underlay}.1`,
      publicIp: `${lab.underlay}.1`,
      mtu: 1400,
    });
    const byAddress = await detectUnderlay(system, {
      iface: ['nope0', `${lab.underlay}.1`],
      publicIp: '198.18.0.99',
    });
    expect(byAddress.iface).toBe('veth0');
    expect(byAddress.publicIp).toBe('198.18.0.99');
    await expect(detectUnderlay(system, { iface: ['nope0'], publicIp: null })).rejects.toMatchObject({
      code: 'DAEMON_NO_UNDERLAY',
    });
  });
});

describe('TUN host setup', () => {
  const spec = { name: 'felt0', address: '10.5.72.0', mtu: 1350, network: '10.5.0.0/16' };

  it('configures a persistent TUN idempotently and repairs what was removed', async () => {
    const host = new TunHost(run, silent, procSys);
    expect(await host.ensureDevice('felt0')).toBe(true);
    expect(await host.ensureDevice('felt0')).toBe(false);
    const details = await sh('ip', ['-d', 'link', 'show', 'dev', 'felt0'], { netns });
    expect(details.stdout).toMatch(/tun type tun pi off .*persist on/);
    expect(await host.problems(spec)).toContain('address 10.5.72.0/32 missing');
    const ipv6Path = '/proc/sys/net/ipv6/conf/felt0/disable_ipv6';
    const ipv6Before = await procSys.read(ipv6Path);
    if (ipv6Before !== null) expect(await host.problems(spec)).toContain('ipv6 enabled');
    await host.apply(spec);
    expect(await host.problems(spec)).toEqual([]);
    await host.apply(spec); // a restarted daemon re-applies on the same device
    expect(await host.problems(spec)).toEqual([]);
    const link = JSON.parse((await sh('ip', ['-j', 'link', 'show', 'dev', 'felt0'], { netns })).stdout)[0];
    expect(link.txqlen).toBe(TUN_TX_QUEUE_LENGTH);
    // The data plane is IPv4-only: no IPv6 on the device, so no link-local address and no kernel chatter.
    if (ipv6Before !== null) {
      expect(await procSys.read(ipv6Path)).toBe('1');
      const inet6 = await sh('ip', ['-6', '-o', 'addr', 'show', 'dev', 'felt0'], { netns });
      expect(inet6.stdout.trim()).toBe('');
    }
    // Drift in either is reported and repaired (a fresh host or someone else's tuning).
    await procSys.write(ipv6Path, '0');
    await sh('ip', ['link', 'set', 'dev', 'felt0', 'txqueuelen', '500'], { netns });
    expect(await host.problems(spec)).toEqual(
      ipv6Before === null
        ? ['txqueuelen 500 instead of 1000']
        : ['txqueuelen 500 instead of 1000', 'ipv6 enabled'],
    );
    await host.apply(spec);
    expect(await host.problems(spec)).toEqual([]);
    const route = await sh('ip', ['-4', 'route', 'show', 'exact', '10.5.0.0/16'], { netns });
    expect(route.stdout).toContain('dev felt0');
    expect(route.stdout).toContain('src 10.5.72.0');

    await sh('ip', ['route', 'del', '10.5.0.0/16'], { netns });
    expect(await host.problems(spec)).toEqual(['route 10.5.0.0/16 missing']);
    await host.apply(spec);
    expect(await host.problems(spec)).toEqual([]);
  });

  it('replaces the address of an older lease', async () => {
    const host = new TunHost(run, silent, procSys);
    await host.apply({ ...spec, address: '10.5.9.0' });
    const addresses = await sh('ip', ['-4', '-o', 'addr', 'show', 'dev', 'felt0'], { netns });
    expect(addresses.stdout).toContain('10.5.9.0/32');
    expect(addresses.stdout).not.toContain('10.5.72.0');
  });

  it('reports a deleted device', async () => {
    await sh('ip', ['link', 'del', 'felt0'], { netns });
    const host = new TunHost(run, silent);
    expect(await host.exists('felt0')).toBe(false);
    expect(await host.problems(spec)).toEqual(['device missing']);
  });
});

describe('iptables in a namespace', () => {
  it("installs Flannel's rules in order, repairs a deleted rule, removes an old set", async () => {
    const manager = new IptablesManager({ run, logger: silent });
    const randomFully = await manager.supportsRandomFully();
    const masq = masqRules('10.5.0.0/16', '10.5.72.0/24', randomFully);
    const forward = forwardRules('10.5.0.0/16');
    expect(await manager.ensure('masq', masq)).toBe(true);
    expect(await manager.ensure('forward', forward)).toBe(true);
    expect(await manager.ensure('masq', masq)).toBe(false);

    const listed = async (table: string, chain: string) =>
      (await sh('iptables', ['-w', '5', '-t', table, '-S', chain], { netns })).stdout.trim().split('\n');
    const chain = await listed('nat', 'FELT-POSTRTG');
    expect(chain[0]).toBe('-N FELT-POSTRTG');
    expect(chain.slice(1).map((line) => line.replace(/^-A FELT-POSTRTG /, ''))).toEqual([
      '-m mark --mark 0x4000/0x4000 -m comment --comment "feltd masq" -j RETURN',
      '-s 10.5.72.0/24 -d 10.5.0.0/16 -m comment --comment "feltd masq" -j RETURN',
      '-s 10.5.0.0/16 -d 10.5.72.0/24 -m comment --comment "feltd masq" -j RETURN',
      '! -s 10.5.0.0/16 -d 10.5.72.0/24 -m comment --comment "feltd masq" -j RETURN',
      `-s 10.5.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "feltd masq" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
      `! -s 10.5.0.0/16 -d 10.5.0.0/16 -m comment --comment "feltd masq" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
    ]);
    expect((await listed('nat', 'POSTROUTING'))[1]).toContain('-j FELT-POSTRTG');
    expect(await listed('filter', 'FELT-FWD')).toHaveLength(3);

    await sh('iptables', ['-w', '5', '-t', 'nat', '-D', 'FELT-POSTRTG', '3'], { netns });
    expect(await manager.missing(masq)).toHaveLength(1);
    expect(await manager.ensure('masq', masq)).toBe(true);
    expect(await listed('nat', 'FELT-POSTRTG')).toEqual(chain);

    await manager.remove(masq);
    expect(await listed('nat', 'FELT-POSTRTG')).toEqual(['-N FELT-POSTRTG']);
    expect((await listed('nat', 'POSTROUTING')).join('\n')).not.toContain('FELT-POSTRTG');
  });
});
