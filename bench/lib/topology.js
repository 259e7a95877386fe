/**
 * The two-host set-up every case starts from: namespaces "a" and "b" joined by a veth pair (MTU 1500),
 * underlay <prefix>.1 and .2 from 198.18.0.0/15, and a "pod" address as a /32 on each loopback.
 * Cases add their tunnel (or plain routes) on top.
 */
import { randomInt } from 'node:crypto';

export const UNDERLAY_IF = 'veth0';

/** Creates the hosts in `lab`; returns their description (names, addresses, pods). */
export async function createTwoHosts(lab) {
  // Each lab has private namespaces, so the /24 cannot clash with another lab's; randomness only
  // makes captures from concurrent runs easier to tell apart.
  const underlay = `198.18.${randomInt(1, 255)}`;
  const a = { name: 'a', ns: await lab.addNetns('a'), underlay: `${underlay}.1`, pod: '10.244.1.1' };
  const b = { name: 'b', ns: await lab.addNetns('b'), underlay: `${underlay}.2`, pod: '10.244.2.1' };
  a.podSubnet = '10.244.1.0/24';
  b.podSubnet = '10.244.2.0/24';
  await lab.exec(null, 'ip', [
    'link',
    'add',
    UNDERLAY_IF,
    'netns',
    a.ns,
    'mtu',
    '1500',
    'type',
    'veth',
    'peer',
    'name',
    UNDERLAY_IF,
    'netns',
    b.ns,
    'mtu',
    '1500',
  ]);
  for (const host of [a, b]) {
    await lab.exec(host.ns, 'ip', ['addr', 'add', `${host.underlay}/24`, 'dev', UNDERLAY_IF]);
    await lab.exec(host.ns, 'ip', ['link', 'set', UNDERLAY_IF, 'up']);
    await lab.exec(host.ns, 'ip', ['addr', 'add', `${host.pod}/32`, 'dev', 'lo']);
  }
  return { a, b, underlayPrefix: underlay };
}

/** Replaces the pod address of `host` (felt leases its subnet itself, so the pod follows the lease). */
export async function movePod(lab, host, pod, podSubnet) {
  await lab.exec(host.ns, 'ip', ['addr', 'del', `${host.pod}/32`, 'dev', 'lo']);
  await lab.exec(host.ns, 'ip', ['addr', 'add', `${pod}/32`, 'dev', 'lo']);
  host.pod = pod;
  host.podSubnet = podSubnet;
}
