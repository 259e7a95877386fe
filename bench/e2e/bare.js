/** Ceiling: no tunnel, each pod /24 routed straight over the veth (like Flannel's host-gw). */
import { UNDERLAY_IF } from '../lib/topology.js';

export default {
  id: 'bare',
  label: 'bare veth (no tunnel)',
  group: 'baseline',
  requires: [],
  async setup(lab, { a, b }) {
    for (const [self, peer] of [
      [a, b],
      [b, a],
    ]) {
      await lab.exec(self.ns, 'ip', [
        'route',
        'add',
        peer.podSubnet,
        'via',
        peer.underlay,
        'dev',
        UNDERLAY_IF,
      ]);
    }
    return { processes: [] };
  },
};
