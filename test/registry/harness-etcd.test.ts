import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, startEtcd } from '../harness/etcd.js';

describe('etcd harness', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  it('serves etcdctl, survives kill + restart with its data, and stops by PID', async () => {
    await etcd.etcdctl('put', '/felt/harness', 'kept');
    const firstPid = etcd.pid;
    await etcd.kill();
    await expect(
      etcd.etcdctl('get', '/felt/harness', '--dial-timeout=300ms', '--command-timeout=500ms'),
    ).rejects.toThrow();
    await etcd.restart();
    expect(etcd.pid).not.toBe(firstPid);
    expect(await etcd.etcdctl('get', '/felt/harness', '--print-value-only')).toBe('kept\n');
  });
});
