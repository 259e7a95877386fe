// Pod plumbing as the flannel CNI plugin delegates it to the bridge plugin: a cni0 bridge in the node
// holding the lease's .1, and per pod a namespace whose eth0 (a veth on cni0) has an address from the
// lease, the node's FLANNEL_MTU and a default route via cni0.
import type { Lab } from '../netns.js';
import { sh } from '../netns.js';
import type { NodeSubnet } from './subnet-env.js';

export interface PodSpec {
  /** Short name for the pod namespace (Lab adds its prefix). */
  short: string;
  /** Host part of the pod address in the node's /24 (the bridge plugin starts at 2). */
  host: number;
}

export async function addCniBridge(netns: string, subnet: NodeSubnet): Promise<void> {
  await sh('ip', ['link', 'add', 'cni0', 'type', 'bridge'], { netns });
  await sh('ip', ['addr', 'add', `${subnet.gateway}/24`, 'dev', 'cni0'], { netns });
  await sh('ip', ['link', 'set', 'cni0', 'mtu', String(subnet.mtu), 'up'], { netns });
}

/** Creates one pod namespace attached to the node's cni0; returns its namespace and address. */
export async function addPod(
  lab: Lab,
  nodeNetns: string,
  subnet: NodeSubnet,
  spec: PodSpec,
): Promise<{ netns: string; ip: string }> {
  const netns = await lab.addNetns(spec.short);
  const hostSide = `veth${spec.host}`;
  await lab.addVeth(netns, 'eth0', nodeNetns, hostSide);
  await sh('ip', ['link', 'set', hostSide, 'mtu', String(subnet.mtu), 'master', 'cni0'], {
    netns: nodeNetns,
  });
  const ip = `${subnet.prefix}.${spec.host}`;
  await sh('ip', ['link', 'set', 'eth0', 'mtu', String(subnet.mtu)], { netns });
  await sh('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0'], { netns });
  await sh('ip', ['route', 'add', 'default', 'via', subnet.gateway], { netns });
  return { netns, ip };
}
