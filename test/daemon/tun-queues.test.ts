// TunHost.ensureDevice and the TUN queue mode on the real kernel, in a throwaway namespace: multi_queue
// when several data-plane workers attach, and a device of the other mode (left by a run with another
// worker count) recreated; a device that is no TUN is left alone (the data plane reports it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../packages/daemon/src/exec.js';
import type { ProcSys } from '../../packages/daemon/src/host/proc-sys.js';
import { TunHost } from '../../packages/daemon/src/host/tun-setup.js';
import { Lab, sh } from '../harness/netns.js';
import { commandsIn, procSysIn } from './in-netns.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const IFF_MULTI_QUEUE = 0x100;
const lab = new Lab('tq');
let netns: string;
let run: CommandRunner;
let procSys: ProcSys;

beforeAll(async () => {
  netns = await lab.addNetns('tq');
  run = commandsIn(netns);
  procSys = procSysIn(netns);
});
afterAll(() => lab.dispose());

async function tunFlags(name: string): Promise<number> {
  const result = await sh('cat', [`/sys/class/net/${name}/tun_flags`], { netns });
  return Number.parseInt(result.stdout.trim(), 16);
}

describe('TUN queue mode', () => {
  it('creates multi_queue for several workers and recreates a device of the other mode', async () => {
    const host = new TunHost(run, silent, procSys);
    expect(await host.ensureDevice('felt0', true)).toBe(true);
    expect((await tunFlags('felt0')) & IFF_MULTI_QUEUE).toBe(IFF_MULTI_QUEUE);
    expect(await host.ensureDevice('felt0', true)).toBe(false);

    expect(await host.ensureDevice('felt0', false)).toBe(true);
    expect((await tunFlags('felt0')) & IFF_MULTI_QUEUE).toBe(0);
    expect(await host.ensureDevice('felt0', false)).toBe(false);
    const details = await sh('ip', ['-d', 'link', 'show', 'dev', 'felt0'], { netns });
    expect(details.stdout).toMatch(/tun type tun pi off .*persist on/);

    expect(await host.ensureDevice('felt0', true)).toBe(true);
    expect((await tunFlags('felt0')) & IFF_MULTI_QUEUE).toBe(IFF_MULTI_QUEUE);
  });

  it('leaves a device of that name that is no TUN alone', async () => {
    await sh('ip', ['link', 'add', 'felt9', 'type', 'veth', 'peer', 'name', 'felt9p'], { netns });
    const host = new TunHost(run, silent, procSys);
    expect(await host.ensureDevice('felt9', true)).toBe(false);
    const link = await sh('ip', ['-d', 'link', 'show', 'dev', 'felt9'], { netns });
    expect(link.stdout).toMatch(/veth/);
  });
});
