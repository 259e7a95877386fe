// subnet.env in Flannel's exact format and key order (the flannel CNI plugin and Docker read it),
// written atomically: temp file in the same directory, fsync, rename.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.js';
import { offsetAddress } from './ipv4.js';

export interface SubnetEnv {
  /** Cluster network, e.g. '10.5.0.0/16'. */
  network: string;
  /** The lease's network, e.g. '10.5.72.0/24' (written as its first address, '10.5.72.1/24'). */
  subnet: string;
  mtu: number;
  ipMasq: boolean;
}

export function formatSubnetEnv(env: SubnetEnv): string {
  return [
    `FLANNEL_NETWORK=${env.network}`,
    `FLANNEL_SUBNET=${offsetAddress(env.subnet, 1)}`,
    `FLANNEL_MTU=${env.mtu}`,
    `FLANNEL_IPMASQ=${env.ipMasq}`,
    '',
  ].join('\n');
}

export function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  return writeFileAtomic(path, formatSubnetEnv(env));
}

/** What a previous run (felt or flanneld) left behind; fields absent or malformed are null. */
export interface PreviousSubnetEnv {
  network: string | null;
  /** As written: the first address with prefix, e.g. '10.5.72.1/24'. */
  subnet: string | null;
  mtu: number | null;
  ipMasq: boolean | null;
}

export function parseSubnetEnv(text: string): PreviousSubnetEnv {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*?)\s*$/.exec(line);
    if (match) values.set(match[1], match[2].replace(/^"(.*)"$/, '$1'));
  }
  const cidr = (key: string): string | null => {
    const value = values.get(key);
    return value !== undefined && /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value) ? value : null;
  };
  const mtu = Number(values.get('FLANNEL_MTU'));
  const ipMasq = values.get('FLANNEL_IPMASQ');
  return {
    network: cidr('FLANNEL_NETWORK'),
    subnet: cidr('FLANNEL_SUBNET'),
    mtu: Number.isInteger(mtu) && mtu > 0 ? mtu : null,
    ipMasq: ipMasq === 'true' ? true : ipMasq === 'false' ? false : null,
  };
}

/** Null when the file does not exist (first start). */
export async function readSubnetEnv(path: string): Promise<PreviousSubnetEnv | null> {
  try {
    return parseSubnetEnv(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw err;
  }
}
