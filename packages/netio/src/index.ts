export {
  intToIpv4,
  ipv4ToInt,
  ipv6ToWords,
  recordPeerAddress,
  setRecordPeer,
  wordsToIpv6,
} from './address.js';
export { codeForErrno, NetioError } from './errors.js';
export { addonPaths, locateAddon } from './load.js';
export { createPoller } from './poller.js';
export { openTun } from './tun.js';
export * from './types.js';
export { openUdp } from './udp.js';
