// A node whose data plane is the kernel's vxlan driver, programmed exactly as Flannel's vxlan backend
// does it (flannel.md §4): device flannel.1 (VNI 1, dstport 8472, nolearning, local = public IP, MTU
// underlay − 50, the lease's .0/32 on it), a lease written with etcdctl in Flannel's JSON carrying the
// device's real MAC, and per remote lease: neighbour, then FDB entry, then an onlink route.
import type { Cluster, ClusterNode } from '../cluster.js';
import { ETCD_PREFIX } from '../cluster.js';
import { sh } from '../netns.js';
import type { NodeSubnet } from './subnet-env.js';

const DEVICE = 'flannel.1';
const VNI = 1;
const VXLAN_PORT = 8472;
const VXLAN_OVERHEAD = 50;

export interface VxlanPeer {
  /** '10.244.7.0/24' */
  subnet: string;
  publicIp: string;
  vtepMac: string;
}

export interface FlannelVxlanNode {
  node: ClusterNode;
  vtepMac: string;
  /** The lease key suffix, e.g. '10.244.200.0-24'. */
  leaseKey: string;
  /** Programs neighbour + FDB + route for a remote lease, in Flannel's order. */
  addPeer(peer: VxlanPeer): Promise<void>;
}

/** Reads a felt (or Flannel) vxlan lease from etcd as the peer description Flannel would program. */
export async function vxlanPeerFromLease(cluster: Cluster, subnet: string): Promise<VxlanPeer> {
  const key = subnet.replace('/', '-');
  const lease = (await cluster.leases()).get(key);
  if (!lease) throw new Error(`no lease ${key} in etcd`);
  const data = lease.BackendData as { VNI?: number; VtepMAC?: string } | undefined;
  if (lease.BackendType !== 'vxlan' || !data?.VtepMAC) {
    throw new Error(`lease ${key} is not a vxlan lease: ${JSON.stringify(lease)}`);
  }
  return { subnet, publicIp: String(lease.PublicIP), vtepMac: data.VtepMAC };
}

/** Adds a node to `cluster` running kernel vxlan with lease `<prefix>.0/24` (prefix like '10.244.200'). */
export async function addFlannelVxlanNode(cluster: Cluster, prefix: string): Promise<FlannelVxlanNode> {
  const node = await cluster.addNode(1);
  const { netns, address } = node;
  const underlayMtu = Number((await sh('cat', ['/sys/class/net/eth0/mtu'], { netns })).stdout.trim());
  const mtu = underlayMtu - VXLAN_OVERHEAD;
  // biome-ignore format: ip arguments read as a sentence
  await sh('ip', ['link', 'add', DEVICE, 'type', 'vxlan', 'id', String(VNI), 'local', address, 'dev', 'eth0',
    'dstport', String(VXLAN_PORT), 'nolearning'], { netns });
  await sh('ip', ['link', 'set', DEVICE, 'mtu', String(mtu), 'up'], { netns });
  await sh('ip', ['addr', 'add', `${prefix}.0/32`, 'dev', DEVICE], { netns });
  const link = JSON.parse((await sh('ip', ['-j', 'link', 'show', DEVICE], { netns })).stdout) as Array<{
    address: string;
  }>;
  const vtepMac = link[0]!.address;

  const subnet: NodeSubnet = {
    network: '10.244.0.0/16',
    subnet: `${prefix}.0/24`,
    prefix,
    gateway: `${prefix}.1`,
    tunnelAddress: `${prefix}.0`,
    mtu,
    ipMasq: false,
  };
  await cluster.attachPods(node.index, subnet);

  // Flannel's lease: its own etcd lease of 24 h, Flannel's LeaseAttrs JSON with the device's real MAC.
  const leaseKey = `${prefix}.0-24`;
  const granted = await cluster.etcd.etcdctl('lease', 'grant', '86400');
  const leaseId = /lease ([0-9a-f]+) granted/.exec(granted)?.[1];
  if (!leaseId) throw new Error(`etcdctl lease grant: unexpected output ${granted}`);
  const value = JSON.stringify({
    PublicIP: address,
    PublicIPv6: null,
    BackendType: 'vxlan',
    BackendData: { VNI, VtepMAC: vtepMac },
  });
  await cluster.etcd.etcdctl('put', `--lease=${leaseId}`, `${ETCD_PREFIX}/subnets/${leaseKey}`, value);

  async function addPeer(peer: VxlanPeer): Promise<void> {
    const gateway = peer.subnet.replace(/\/\d+$/, '');
    await sh('ip', ['neigh', 'replace', gateway, 'lladdr', peer.vtepMac, 'dev', DEVICE, 'nud', 'permanent'], {
      netns,
    });
    await sh(
      'bridge',
      ['fdb', 'replace', peer.vtepMac, 'dev', DEVICE, 'dst', peer.publicIp, 'self', 'permanent'],
      { netns },
    );
    await sh('ip', ['route', 'replace', peer.subnet, 'via', gateway, 'dev', DEVICE, 'onlink'], { netns });
  }

  return { node, vtepMac, leaseKey, addPeer };
}
