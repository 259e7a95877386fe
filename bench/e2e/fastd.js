/**
 * fastd in tun mode with the `null` method (no encryption, no authentication of packets; the
 * handshake still uses each host's key pair, generated here).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pairs, routeIntoDevice, waitForDevice } from '../lib/tunnel.js';

const DEV = 'fastd0';
const PORT = 10000;

async function keyPair(lab) {
  const secret = (await lab.exec(null, 'fastd', ['--generate-key', '--machine-readable'])).stdout.trim();
  const file = join(lab.dir, `fastd-key-${secret.slice(0, 8)}.conf`);
  writeFileSync(file, `secret "${secret}";\n`);
  const pub = (await lab.exec(null, 'fastd', ['-c', file, '--show-key', '--machine-readable'])).stdout.trim();
  return { secret, pub };
}

export default {
  id: 'fastd',
  label: 'fastd null (C)',
  group: 'c',
  requires: ['fastd'],
  async setup(lab, hosts) {
    const keys = { a: await keyPair(lab), b: await keyPair(lab) };
    const processes = [];
    for (const [self, peer] of pairs(hosts)) {
      const conf = [
        'log level warn;',
        `interface "${DEV}";`,
        'mode tun;',
        'method "null";',
        `bind ${self.underlay}:${PORT};`,
        `secret "${keys[self.name].secret}";`,
        'mtu 1450;',
        `peer "${peer.name}" {`,
        `  key "${keys[peer.name].pub}";`,
        `  remote ${peer.underlay}:${PORT};`,
        '}',
      ];
      const file = join(lab.dir, `fastd-${self.name}.conf`);
      writeFileSync(file, `${conf.join('\n')}\n`);
      const proc = lab.spawn(self.ns, 'fastd', ['-c', file], { label: `fastd@${self.name}` });
      await waitForDevice(lab, self, DEV, proc);
      await routeIntoDevice(lab, self, peer, DEV);
      processes.push(proc);
    }
    return { processes };
  },
};
