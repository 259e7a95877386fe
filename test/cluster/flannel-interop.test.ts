// A felt vxlan node and a node running the kernel's vxlan driver programmed exactly as Flannel's vxlan
// backend does (flannel-vxlan-node.ts) reach each other's pods in both directions, with TCP intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addFlannelVxlanNode,
  type FlannelVxlanNode,
  vxlanPeerFromLease,
} from '../harness/cluster/flannel-vxlan-node.js';
import { Cluster, FELTD_PRESENT } from '../harness/cluster.js';

describe.skipIf(!FELTD_PRESENT)('felt vxlan ↔ kernel vxlan node (Flannel-style)', () => {
  let cluster: Cluster;
  let flannel: FlannelVxlanNode;

  beforeAll(async () => {
    cluster = await Cluster.create({ nodes: 1, backend: 'vxlan', podsPerNode: () => 1 });
    flannel = await addFlannelVxlanNode(cluster, '10.244.200');
    await flannel.addPeer(await vxlanPeerFromLease(cluster, cluster.peerLabel(0)));
  });
  afterAll(() => cluster?.dispose());

  it('felt publishes a vxlan lease the kernel node can use (VNI 1, a unicast locally administered MAC)', async () => {
    const lease = (await cluster.leases()).get(cluster.peerLabel(0).replace('/', '-'));
    expect(lease).toMatchObject({
      PublicIP: cluster.node(0).address,
      BackendType: 'vxlan',
      BackendData: { VNI: 1 },
    });
    const mac = (lease!.BackendData as { VtepMAC: string }).VtepMAC;
    expect(Number.parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
  });

  it('pods ping each other in both directions', async () => {
    const feltPod = cluster.node(0).pods[0]!;
    const kernelPod = flannel.node.pods[0]!;
    expect(await cluster.ping(feltPod, kernelPod.ip, 3, 5_000)).toBe(true);
    expect(await cluster.ping(kernelPod, feltPod.ip, 3, 5_000)).toBe(true);
  });

  // Plain Flannel set-up, no checksum workaround: across the veth underlay the kernel node sends inner
  // TCP checksums unfinished (CHECKSUM_PARTIAL) and its TCP super-packets unsegmented; felt (offloads on,
  // feltd's default) completes the checksums and hands the super-packets to its TUN as TSO, so the
  // kernel can forward them to the pod.
  it('50 MB TCP transfers arrive intact both ways (no ethtool workaround on flannel.1)', async () => {
    const feltPod = cluster.node(0).pods[0]!;
    const kernelPod = flannel.node.pods[0]!;
    for (const [from, to] of [
      [feltPod, kernelPod],
      [kernelPod, feltPod],
    ] as const) {
      const r = await cluster.transfer(from, to, 50_000_000);
      expect(r.received).toEqual({ bytes: 50_000_000, sha256: r.sent.sha256 });
    }
  });
});
