// Test driver: runs one felt data plane (from the built dist) inside the current network namespace.
// argv[2] is JSON: { config: DataplaneConfig, peers: PeerSpec[], statusFile?: string, linkMtu?: number }
// (linkMtu: an MTU for the TUN link other than config.tunMtu, to provoke too-big packets).
// Configures the TUN like feltd does (address = lease .0/32, MTU, up, cluster network routed into it),
// prints 'ready <tun>' and then writes a snapshot to statusFile every 100 ms. SIGTERM stops it.
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { Dataplane } from '@felt/dataplane';

const { config, peers, statusFile, linkMtu } = JSON.parse(process.argv[2]);
// FELT_TEST_OFFLOADS=true|false: data plane offloads for every test that does not choose itself.
if (process.env.FELT_TEST_OFFLOADS && config.offloads === undefined) {
  config.offloads = process.env.FELT_TEST_OFFLOADS === 'true';
}
const logger = {
  debug() {},
  info: (obj, msg) => console.log(msg, JSON.stringify(obj)),
  warn: (obj, msg) => console.log(msg, JSON.stringify(obj)),
  error: (obj, msg) => console.log(msg, JSON.stringify(obj)),
};

const dataplane = await Dataplane.start(config, { logger });
dataplane.on('fatal', (err) => {
  console.log(`fatal ${err.message}`);
  process.exit(3);
});
const tunAddress = `${config.subnet.split('/')[0]}/32`;
const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });
ip('addr', 'replace', tunAddress, 'dev', dataplane.tunName);
ip('link', 'set', 'dev', dataplane.tunName, 'mtu', String(linkMtu ?? config.tunMtu), 'up');
ip('route', 'replace', config.network, 'dev', dataplane.tunName);
dataplane.setPeers(peers);

let timer;
if (statusFile) {
  const write = () => {
    writeFileSync(`${statusFile}.tmp`, JSON.stringify(dataplane.snapshot()));
    renameSync(`${statusFile}.tmp`, statusFile);
  };
  write();
  timer = setInterval(write, 100);
}
console.log(`ready ${dataplane.tunName}`);

process.once('SIGTERM', async () => {
  clearInterval(timer);
  await dataplane.stop();
  console.log('stopped');
  process.exit(0);
});
