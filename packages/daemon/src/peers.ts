// Turns the registry's peer leases into the data plane's peer specs. Leases of another backend type
// are skipped, as Flannel's backends do (a udp node cannot talk to a vxlan node).
import type { BackendType, PeerSpec } from '@felt/dataplane';
import { type Lease, vxlanDataOf } from '@felt/registry';

export type PeerDecision = { ok: true; peer: PeerSpec } | { ok: false; reason: string };

export function peerFromLease(lease: Lease, backend: BackendType): PeerDecision {
  const published = lease.attrs.BackendType ?? 'udp';
  if (published !== backend) {
    return { ok: false, reason: `lease backend ${published} is not ${backend}` };
  }
  if (backend !== 'vxlan')
    return { ok: true, peer: { subnet: lease.subnet, publicIp: lease.attrs.PublicIP } };
  const vxlan = vxlanDataOf(lease.attrs);
  if (vxlan === null) return { ok: false, reason: 'vxlan lease without VtepMAC' };
  return { ok: true, peer: { subnet: lease.subnet, publicIp: lease.attrs.PublicIP, vtepMac: vxlan.VtepMAC } };
}

/** A stable, locally administered unicast MAC derived from our underlay address (survives restarts). */
export function vtepMacFor(publicIp: string): string {
  const octets = publicIp.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'));
  return ['0e', '66', ...octets].join(':');
}
