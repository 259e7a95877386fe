// feltd faced with bad input: garbage flags end it with one clear line and a non-zero exit; a garbage
// network config is reported and waited out (the daemon keeps running and starts once the config is
// fixed). Garbage datagrams at the tunnel are covered per backend in suite.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, ETCD_PREFIX, FELTD_PRESENT, networkConfigFor } from '../harness/cluster.js';
import { waitFor } from '../harness/netns.js';

describe.skipIf(!FELTD_PRESENT)('feltd on bad input', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.create({ nodes: 1, backend: 'vxlan', start: false, networkConfig: 'not json {' });
  });
  afterAll(() => cluster?.dispose());

  it.each([
    ['--no-such-flag=1', 'no-such-flag'],
    ['--healthz-port=eighty', 'healthz-port'],
    ['--subnet-lease-renew-margin=0', 'subnet-lease-renew-margin'],
    ['--log-level=loud', 'log-level'],
    ['--etcd-endpoints=::::', 'etcd-endpoints'],
  ])('%s: exits non-zero with one line naming the flag', async (flag, name) => {
    const feltd = cluster.spawnFeltd(0, [...cluster.feltdFlags(cluster.node(0)), flag]);
    const code = await Promise.race([feltd.exited, waitFor('exit', () => false, { timeoutMs: 10_000 })]);
    const lines = feltd.output().trim().split('\n');
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
  });

  it('garbage network config: a clear error, keeps running, starts once the config is fixed', async () => {
    const node = cluster.node(0);
    const feltd = cluster.spawnFeltd(0, cluster.feltdFlags(node));
    await feltd.waitForOutput(new RegExp(`${ETCD_PREFIX}/config`), 15_000);
    await feltd.waitForOutput(/config/i, 1_000);
    expect(feltd.running).toBe(true);
    expect(await cluster.readyz(0)).not.toBe(200);

    await cluster.writeNetworkConfig('{"Network":"10.244.0.0/33","Backend":{"Type":"vxlan"}}');
    await waitFor('feltd to report the invalid Network', () => /10\.244\.0\.0\/33/.test(feltd.output()), {
      timeoutMs: 10_000,
    });
    expect(feltd.running).toBe(true);
    expect(await cluster.readyz(0)).not.toBe(200);

    await cluster.writeNetworkConfig(networkConfigFor('vxlan'));
    await waitFor(
      'feltd to become ready after the config was fixed',
      async () => (await cluster.readyz(0)) === 200,
      {
        timeoutMs: 20_000,
      },
    );
    expect(await feltd.stop(15_000)).toBe(0);
  });
});
