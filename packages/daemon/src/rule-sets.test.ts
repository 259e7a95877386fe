import { describe, expect, it } from 'vitest';
import { peerFromLease, vtepMacFor } from './peers.js';
import { staleRuleSets, wantedRuleSets } from './rule-sets.js';

const both = { ipMasq: true, iptablesForwardRules: true };
const previous = { network: '10.5.0.0/16', subnet: '10.5.72.1/24', mtu: 1450, ipMasq: true };

describe('rule sets', () => {
  it('wants masq and forward per flags', () => {
    expect(wantedRuleSets(both, '10.5.0.0/16', '10.5.72.0/24', true).map((set) => set.name)).toEqual([
      'masq',
      'forward',
    ]);
    expect(
      wantedRuleSets({ ipMasq: false, iptablesForwardRules: true }, '10.5.0.0/16', '10.5.72.0/24', true),
    ).toHaveLength(1);
  });

  it('finds nothing stale when nothing changed, or on a first start', () => {
    expect(staleRuleSets(previous, both, '10.5.0.0/16', '10.5.72.0/24', true)).toEqual([]);
    expect(staleRuleSets(null, both, '10.5.0.0/16', '10.5.72.0/24', true)).toEqual([]);
  });

  it('removes the old masq rules when the subnet changed, with the network form of FLANNEL_SUBNET', () => {
    const stale = staleRuleSets(previous, both, '10.5.0.0/16', '10.5.9.0/24', true);
    expect(stale.map((set) => set.name)).toEqual(['masq']);
    expect(stale[0].rules[2].spec.slice(0, 4)).toEqual(['-s', '10.5.72.0/24', '-d', '10.5.0.0/16']);
  });

  it('removes forward rules too when the network changed, and masq rules when masquerading was turned off', () => {
    expect(staleRuleSets(previous, both, '10.6.0.0/16', '10.6.1.0/24', true).map((set) => set.name)).toEqual([
      'masq',
      'forward',
    ]);
    const off = { ipMasq: false, iptablesForwardRules: true };
    expect(staleRuleSets(previous, off, '10.5.0.0/16', '10.5.72.0/24', true).map((set) => set.name)).toEqual([
      'masq',
    ]);
  });
});

describe('peers', () => {
  const base = { subnet: '10.5.1.0/24', key: 'k', expiresAt: null };
  it('maps leases of our backend and skips others', () => {
    const udp = { ...base, attrs: { PublicIP: '198.18.0.2', PublicIPv6: null } };
    expect(peerFromLease(udp, 'udp')).toEqual({
      ok: true,
      peer: { subnet: '10.5.1.0/24', publicIp: '198.18.0.2' },
    });
    expect(peerFromLease(udp, 'vxlan').ok).toBe(false);
    const vxlan = {
      ...base,
      attrs: {
        PublicIP: '198.18.0.2',
        PublicIPv6: null,
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: 'AA:BB:CC:00:11:22' },
      },
    };
    expect(peerFromLease(vxlan, 'vxlan')).toEqual({
      ok: true,
      peer: { subnet: '10.5.1.0/24', publicIp: '198.18.0.2', vtepMac: 'aa:bb:cc:00:11:22' },
    });
    const noMac = { ...vxlan, attrs: { ...vxlan.attrs, BackendData: { VNI: 1 } } };
    expect(peerFromLease(noMac, 'vxlan')).toEqual({ ok: false, reason: 'vxlan lease without VtepMAC' });
  });

  it('derives a stable locally administered unicast VTEP MAC', () => {
    const mac = vtepMacFor('198.18.0.1');
    expect(mac).toBe('0e:66:c6:12:00:01');
    const first = Number.parseInt(mac.slice(0, 2), 16);
    expect(first & 0b10).toBe(0b10);
    expect(first & 0b01).toBe(0);
  });
});
