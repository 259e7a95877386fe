/**
 * tinc 1.0 in router mode without encryption or authentication of packets (`Cipher = none`,
 * `Digest = none`). `PMTUDiscovery = no`, else tinc carries packets over its TCP meta connection
 * for the first ~30 s. Each host gets an RSA key (tinc needs one for the meta connection) and the
 * other's host file.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairs, routeIntoDevice, waitForDevice } from '../lib/tunnel.js';

const DEV = 'tinc0';
const PORT = 655;

export default {
  id: 'tinc',
  label: 'tinc 1.0 no cipher (C)',
  group: 'c',
  requires: ['tincd'],
  async setup(lab, hosts) {
    const dirs = {};
    for (const [self, peer] of pairs(hosts)) {
      const dir = join(lab.dir, `tinc-${self.name}`);
      mkdirSync(join(dir, 'hosts'), { recursive: true });
      const server = [
        `Name = ${self.name}`,
        'Mode = router',
        'DeviceType = tun',
        `Interface = ${DEV}`,
        'AddressFamily = ipv4',
        `BindToAddress = ${self.underlay}`,
        // One side connects; the other accepts.
        ...(self.name === 'a' ? [`ConnectTo = ${peer.name}`] : []),
      ];
      writeFileSync(join(dir, 'tinc.conf'), `${server.join('\n')}\n`);
      const hostFile = [
        `Address = ${self.underlay}`,
        `Port = ${PORT}`,
        `Subnet = ${self.podSubnet}`,
        'Cipher = none',
        'Digest = none',
        'PMTUDiscovery = no',
      ];
      writeFileSync(join(dir, 'hosts', self.name), `${hostFile.join('\n')}\n`);
      // -K appends the public key to hosts/<name>; stdin closed → default file names, no prompt.
      await lab.exec(null, 'tincd', ['-c', dir, '-K', '2048'], { input: '', timeoutMs: 60_000 });
      dirs[self.name] = dir;
    }
    for (const [self, peer] of pairs(hosts)) {
      copyFileSync(join(dirs[peer.name], 'hosts', peer.name), join(dirs[self.name], 'hosts', peer.name));
    }
    const processes = [];
    for (const [self, peer] of pairs(hosts)) {
      const dir = dirs[self.name];
      const proc = lab.spawn(
        self.ns,
        'tincd',
        ['-c', dir, '-D', '-d', '0', `--pidfile=${join(dir, 'pid')}`, `--logfile=${join(dir, 'log')}`],
        { label: `tincd@${self.name}` },
      );
      await waitForDevice(lab, self, DEV, proc);
      await routeIntoDevice(lab, self, peer, DEV);
      processes.push(proc);
    }
    return { processes };
  },
};
