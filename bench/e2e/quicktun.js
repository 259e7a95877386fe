/**
 * quicktun with the unencrypted `raw` protocol. Debian's build reads its settings from IF_QT_*
 * environment variables and the device name from IFACE (as ifupdown would pass them).
 */
import { pairs, routeIntoDevice, waitForDevice } from '../lib/tunnel.js';

const DEV = 'qt0';
const PORT = '2998';

export default {
  id: 'quicktun',
  label: 'quicktun raw (C)',
  group: 'c',
  requires: ['quicktun'],
  async setup(lab, hosts) {
    const processes = [];
    for (const [self, peer] of pairs(hosts)) {
      const env = {
        PATH: process.env.PATH,
        IFACE: DEV,
        IF_QT_PROTOCOL: 'raw',
        IF_QT_TUN_MODE: '1',
        IF_QT_LOCAL_ADDRESS: self.underlay,
        IF_QT_LOCAL_PORT: PORT,
        IF_QT_REMOTE_ADDRESS: peer.underlay,
        IF_QT_REMOTE_PORT: PORT,
      };
      const proc = lab.spawn(self.ns, 'quicktun', [], { env, label: `quicktun@${self.name}` });
      await waitForDevice(lab, self, DEV, proc);
      await routeIntoDevice(lab, self, peer, DEV);
      processes.push(proc);
    }
    return { processes };
  },
};
