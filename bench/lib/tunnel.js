/** Plumbing shared by the userspace tunnels: wait for the daemon's device, then set MTU and routes. */
import { waitFor } from './exec.js';

/** Waits (bounded) until `dev` exists in `host`'s namespace, failing early if `proc` exits. */
export async function waitForDevice(lab, host, dev, proc, timeoutMs = 15_000) {
  await waitFor(
    `${proc.label} to create ${dev} in ${host.ns}`,
    async () => {
      proc.assertRunning();
      const r = await lab.exec(host.ns, 'ip', ['link', 'show', dev], { allowFail: true });
      return r.code === 0;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** Brings `dev` up with `mtu` and routes the peer's pod subnet into it, sourced from our pod. */
export async function routeIntoDevice(lab, self, peer, dev, mtu = 1450) {
  await lab.exec(self.ns, 'ip', ['link', 'set', dev, 'mtu', String(mtu), 'up']);
  await lab.exec(self.ns, 'ip', ['route', 'replace', peer.podSubnet, 'dev', dev, 'src', self.pod]);
}

export const pairs = ({ a, b }) => [
  [a, b],
  [b, a],
];
