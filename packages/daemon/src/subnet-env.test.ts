import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatSubnetEnv, parseSubnetEnv, readSubnetEnv, writeSubnetEnv } from './subnet-env.js';

const env = { network: '10.5.0.0/16', subnet: '10.5.72.0/24', mtu: 1450, ipMasq: true };
const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

describe('subnet.env', () => {
  it("matches Flannel's bytes and key order", () => {
    expect(formatSubnetEnv(env)).toBe(
      'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.72.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
    );
    expect(formatSubnetEnv({ ...env, ipMasq: false, mtu: 1472 })).toContain(
      'FLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n',
    );
  });

  it('writes atomically with mode 0644, creating the directory, and reads it back', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'felt-subnet-env-'));
    directories.push(directory);
    const path = join(directory, 'run', 'flannel', 'subnet.env');
    await writeSubnetEnv(path, env);
    await writeSubnetEnv(path, { ...env, mtu: 1400 });
    expect(await readFile(path, 'utf8')).toBe(formatSubnetEnv({ ...env, mtu: 1400 }));
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(join(directory, 'run', 'flannel'))).toEqual(['subnet.env']);
    expect(await readSubnetEnv(path)).toEqual({
      network: '10.5.0.0/16',
      subnet: '10.5.72.1/24',
      mtu: 1400,
      ipMasq: true,
    });
  });

  it('reads a missing file as null and tolerates garbage', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'felt-subnet-env-'));
    directories.push(directory);
    expect(await readSubnetEnv(join(directory, 'absent.env'))).toBeNull();
    await writeFile(join(directory, 'bad.env'), 'FLANNEL_SUBNET=banana\nFLANNEL_MTU=-3\n\0\n');
    expect(await readSubnetEnv(join(directory, 'bad.env'))).toEqual({
      network: null,
      subnet: null,
      mtu: null,
      ipMasq: null,
    });
  });

  it('parses flanneld-written files with an IPv6 section', () => {
    const text =
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:3::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';
    expect(parseSubnetEnv(text)).toEqual({
      network: '10.244.0.0/16',
      subnet: '10.244.3.1/24',
      mtu: 1450,
      ipMasq: false,
    });
  });
});
