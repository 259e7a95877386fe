// The cluster harness on its own, with no feltd: two nodes running the kernel's vxlan exactly as Flannel
// programs it must reach each other's pods, the outside namespace must not reach any pod, and transfers
// must arrive intact. If this fails, the felt cluster tests cannot be trusted either.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFlannelVxlanNode, type FlannelVxlanNode } from '../harness/cluster/flannel-vxlan-node.js';
import { Cluster } from '../harness/cluster.js';

describe('cluster harness (kernel vxlan nodes, no feltd)', () => {
  let cluster: Cluster;
  let a: FlannelVxlanNode;
  let b: FlannelVxlanNode;

  beforeAll(async () => {
    cluster = await Cluster.create({ nodes: 0, backend: 'vxlan' });
    a = await addFlannelVxlanNode(cluster, '10.244.201');
    b = await addFlannelVxlanNode(cluster, '10.244.202');
    await a.addPeer({ subnet: '10.244.202.0/24', publicIp: b.node.address, vtepMac: b.vtepMac });
    await b.addPeer({ subnet: '10.244.201.0/24', publicIp: a.node.address, vtepMac: a.vtepMac });
  });
  afterAll(() => cluster?.dispose());

  it('publishes Flannel-format leases for both nodes', async () => {
    const lease = (await cluster.leases()).get(a.leaseKey);
    expect(lease).toEqual({
      PublicIP: a.node.address,
      PublicIPv6: null,
      BackendType: 'vxlan',
      BackendData: { VNI: 1, VtepMAC: a.vtepMac },
    });
  });

  it('pods on different nodes reach each other; outside reaches none', async () => {
    const [podA] = a.node.pods;
    const [podB] = b.node.pods;
    expect(await cluster.ping(podA!, podB!.ip, 3)).toBe(true);
    expect(await cluster.ping(podB!, podA!.ip, 3)).toBe(true);
    const outsidePod = { name: 'outside', netns: cluster.outside, node: -1, ip: cluster.outsideAddress };
    expect(await cluster.ping(outsidePod, podA!.ip, 1, 1_000)).toBe(false);
  });

  it('a 5 MB transfer arrives intact', async () => {
    const r = await cluster.transfer(a.node.pods[0]!, b.node.pods[0]!, 5_000_000);
    expect(r.received).toEqual({ bytes: 5_000_000, sha256: r.sent.sha256 });
  });
});
