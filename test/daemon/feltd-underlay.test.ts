// feltd's underlay choice on a two-NIC node, real kernel: eth0 on the cluster bridge (etcd's subnet) and
// eth1 on a second 198.18.0.0/15 subnet towards a router namespace that also routes a 198.19.x address.
// --iface-regex (by name and by address) and --iface-can-reach must pick eth1; what feltd logs and
// leases as its public IP follows. All inside namespaces; `ip route get` sends nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, HEALTHZ_PORT } from '../harness/cluster.js';
import { type ManagedProcess, sh, waitFor } from '../harness/netns.js';

let cluster: Cluster;
/** eth1's /24 (the other half of 198.18.0.0/15 than the bridge's, same third octet). */
let second: string;
/** Reached only through eth1's router. */
let farTarget: string;
/** In neither subnet nor routed: no route at all (the node has no default route). */
let unroutable: string;

beforeAll(async () => {
  cluster = await Cluster.create({ nodes: 1, backend: 'udp', start: false });
  const [, bridgeSecond, third] = cluster.underlay.split('.').map(Number);
  second = `198.${bridgeSecond === 18 ? 19 : 18}.${third}`;
  farTarget = `198.19.${(third! + 1) % 256}.7`;
  unroutable = `198.19.${(third! + 2) % 256}.9`;
  const { netns } = cluster.node(0);
  const router = await cluster.lab.addNetns('r');
  await cluster.lab.addVeth(netns, 'eth1', router, 'eth0');
  await sh('ip', ['addr', 'add', `${second}.1/24`, 'dev', 'eth1'], { netns });
  await sh('ip', ['addr', 'add', `${second}.2/24`, 'dev', 'eth0'], { netns: router });
  await sh('ip', ['route', 'add', `${farTarget}/32`, 'via', `${second}.2`, 'dev', 'eth1'], { netns });
});
afterAll(() => cluster?.dispose());

interface Run {
  feltd: ManagedProcess;
  underlay: { iface: string; ifaceAddress: string; publicIp: string };
}

function logLines(feltd: ManagedProcess): Record<string, unknown>[] {
  return feltd
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Starts feltd on the node with `selection` flags, waits for /readyz 200, returns its logged underlay. */
async function startWith(selection: string[]): Promise<Run> {
  const node = cluster.node(0);
  const feltd = cluster.spawnFeltd(0, [
    `--etcd-endpoints=${cluster.etcd.endpoint}`,
    `--subnet-file=${node.subnetFile}`,
    '--metrics-addr=',
    `--healthz-ip=${node.address}`,
    `--healthz-port=${HEALTHZ_PORT}`,
    ...selection,
  ]);
  await waitFor(
    `feltd ${selection.join(' ')} to be ready`,
    async () => {
      if (!feltd.running)
        throw new Error(`feltd exited (${await feltd.exited}): ${feltd.output().slice(-2000)}`);
      return (await cluster.readyz(0)) === 200;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  const selected = logLines(feltd).find((line) => line.msg === 'underlay selected');
  return { feltd, underlay: selected?.underlay as Run['underlay'] };
}

/** Public IPs of the leases in etcd. */
async function leasedPublicIps(): Promise<string[]> {
  return [...(await cluster.leases()).values()].map((lease) => lease.PublicIP as string);
}

async function stop(run: Run): Promise<void> {
  expect(await run.feltd.stop(10_000)).toBe(0);
}

describe('feltd on a node with two underlay links', () => {
  it('--iface-regex by name picks eth1, leases its address and binds the underlay socket to it', async () => {
    const run = await startWith(['--iface-regex=^eth1$']);
    expect(run.underlay).toMatchObject({
      iface: 'eth1',
      ifaceAddress: `${second}.1`,
      publicIp: `${second}.1`,
    });
    expect(await leasedPublicIps()).toContain(`${second}.1`);
    const sockets = await sh('ss', ['-uanH'], { netns: cluster.node(0).netns });
    expect(sockets.stdout).toContain(`${second}.1:8285`);
    await stop(run);
  });

  it('--iface-regex by address, after an --iface and a pattern that miss; --public-ip only changes the lease', async () => {
    const escaped = second.replaceAll('.', '\\.');
    const run = await startWith([
      '--iface=nope0',
      '--iface-regex=^bond[0-9]{1,2}$',
      `--iface-regex=^${escaped}\\.[0-9]+$`,
      `--public-ip=${second}.99`,
    ]);
    expect(run.underlay).toMatchObject({
      iface: 'eth1',
      ifaceAddress: `${second}.1`,
      publicIp: `${second}.99`,
    });
    expect(await leasedPublicIps()).toContain(`${second}.99`);
    await stop(run);
  });

  it('--iface-can-reach picks the link whose route reaches the address, with its source address', async () => {
    const route = await sh('ip', ['-4', 'route', 'get', farTarget], { netns: cluster.node(0).netns });
    expect(route.stdout).toContain('dev eth1');
    const run = await startWith([`--iface-can-reach=${farTarget}`]);
    expect(run.underlay).toMatchObject({
      iface: 'eth1',
      ifaceAddress: `${second}.1`,
      publicIp: `${second}.1`,
    });
    await stop(run);
    // The bridge's own subnet is reached over eth0.
    const viaBridge = await startWith([`--iface-can-reach=${cluster.underlay}.254`]);
    expect(viaBridge.underlay).toMatchObject({ iface: 'eth0', ifaceAddress: cluster.node(0).address });
    await stop(viaBridge);
  });

  it('exits 1 naming every miss when nothing matches, and 2 on an invalid pattern', async () => {
    const none = cluster.spawnFeltd(0, [
      `--etcd-endpoints=${cluster.etcd.endpoint}`,
      `--subnet-file=${cluster.node(0).subnetFile}`,
      '--metrics-addr=',
      '--iface-regex=^bond',
      `--iface-can-reach=${unroutable}`,
    ]);
    expect(await none.exited).toBe(1);
    expect(none.output()).toContain('DAEMON_NO_UNDERLAY');
    expect(none.output()).toContain('--iface-regex ^bond: matches no interface name or address');
    expect(none.output()).toContain(`--iface-can-reach ${unroutable}: ip route get`);

    const invalid = cluster.spawnFeltd(0, ['--iface-regex=eth(1']);
    expect(await invalid.exited).toBe(2);
    const lines = invalid.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('invalid --iface-regex value "eth(1"');
  });
});
