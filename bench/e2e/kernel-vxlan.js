/**
 * The kernel's vxlan device exactly as Flannel's vxlan backend programs it: flannel.1-style device
 * (VNI 1, port 8472, nolearning, MTU 1450) holding the subnet's .0/32, then per peer a permanent
 * neighbour entry, a permanent FDB entry and an onlink route via the peer's .0.
 */
import { UNDERLAY_IF } from '../lib/topology.js';

const DEV = 'flannel.1';
const VTEP_MAC = { a: '02:fe:0a:f4:01:00', b: '02:fe:0a:f4:02:00' };

const subnetZero = (host) => host.podSubnet.split('/')[0];

export default {
  id: 'kernel-vxlan',
  label: 'kernel vxlan (Flannel-style)',
  group: 'kernel',
  requires: [],
  async setup(lab, { a, b }) {
    for (const self of [a, b]) {
      await lab.exec(self.ns, 'ip', [
        'link',
        'add',
        DEV,
        'address',
        VTEP_MAC[self.name],
        'mtu',
        '1450',
        'type',
        'vxlan',
        'id',
        '1',
        'local',
        self.underlay,
        'dev',
        UNDERLAY_IF,
        'dstport',
        '8472',
        'nolearning',
      ]);
      await lab.exec(self.ns, 'ip', ['addr', 'add', `${subnetZero(self)}/32`, 'dev', DEV]);
      await lab.exec(self.ns, 'ip', ['link', 'set', DEV, 'up']);
    }
    for (const [self, peer] of [
      [a, b],
      [b, a],
    ]) {
      const gw = subnetZero(peer);
      const mac = VTEP_MAC[peer.name];
      await lab.exec(self.ns, 'ip', ['neigh', 'replace', gw, 'lladdr', mac, 'dev', DEV, 'nud', 'permanent']);
      await lab.exec(self.ns, 'bridge', [
        'fdb',
        'replace',
        mac,
        'dev',
        DEV,
        'dst',
        peer.underlay,
        'self',
        'permanent',
      ]);
      await lab.exec(self.ns, 'ip', ['route', 'replace', peer.podSubnet, 'via', gw, 'dev', DEV, 'onlink']);
    }
    return { processes: [] };
  },
};
