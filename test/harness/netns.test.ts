import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab, RUN_ID, sh, waitFor } from './netns.js';

describe('Lab', () => {
  const lab = new Lab('h');
  afterAll(() => lab.dispose());

  it('builds two hosts on a bridge that reach each other, and only each other', async () => {
    const br = await lab.addBridge('br');
    const a = await lab.addHost('a', br, 1);
    const b = await lab.addHost('b', br, 2);
    expect(a.startsWith(RUN_ID)).toBe(true);
    const ping = await sh('ping', ['-c', '1', '-W', '2', `${lab.underlay}.2`], { netns: a });
    expect(ping.stdout).toMatch(/1 received/);
    const routes = await sh('ip', ['-4', 'route'], { netns: b });
    expect(routes.stdout).not.toMatch(/default/);
  });

  it('tracks processes and waits for their output', async () => {
    const proc = lab.spawn(null, process.execPath, ['-e', 'console.log("hello " + process.pid)']);
    const m = await proc.waitForOutput(/hello (\d+)/, 5_000);
    expect(Number(m[1])).toBe(proc.pid);
    expect(await proc.exited).toBe(0);
  });

  it('waitFor gives up at its deadline with a message naming what it waited for', async () => {
    await expect(waitFor('the impossible', () => false, { timeoutMs: 100 })).rejects.toThrow(
      /the impossible/,
    );
  });

  it('dispose removes namespaces, links and processes', async () => {
    const other = new Lab('d');
    const ns = await other.addNetns('x');
    const br = await other.addBridge('br');
    const proc = other.spawn(ns, 'sleep', ['30']);
    await waitFor('sleep to run', () => proc.running, { timeoutMs: 2_000 });
    await other.dispose();
    expect(proc.running).toBe(false);
    expect(readdirSync('/run/netns')).not.toContain(ns);
    const link = await sh('ip', ['link', 'show', br], { allowFail: true });
    expect(link.code).not.toBe(0);
  });
});
