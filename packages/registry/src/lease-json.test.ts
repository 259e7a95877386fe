import { describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.js';
import { formatLeaseValue, parseLeaseValue, vxlanDataOf } from './lease-json.js';

// Copied from Flannel's Documentation/reservations.md (a lease written by a vxlan node).
const FLANNEL_VXLAN =
  '{"PublicIP":"192.168.64.3","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"c6:d2:32:6f:8f:44"}}';

describe('lease value JSON', () => {
  it('round-trips Flannel vxlan lease byte for byte', () => {
    const attrs = parseLeaseValue(FLANNEL_VXLAN);
    expect(formatLeaseValue(attrs)).toBe(FLANNEL_VXLAN);
    expect(vxlanDataOf(attrs)).toEqual({ VNI: 1, VtepMAC: 'c6:d2:32:6f:8f:44' });
  });

  it('writes what Flannel udp nodes write: no BackendType, no BackendData, PublicIPv6 null', () => {
    expect(formatLeaseValue({ PublicIP: '10.0.0.1', PublicIPv6: null })).toBe(
      '{"PublicIP":"10.0.0.1","PublicIPv6":null}',
    );
    expect(formatLeaseValue({ PublicIP: '10.0.0.1', PublicIPv6: null, BackendType: '' })).toBe(
      '{"PublicIP":"10.0.0.1","PublicIPv6":null}',
    );
  });

  it('reads keys case-insensitively and tolerates a missing PublicIPv6', () => {
    const attrs = parseLeaseValue(
      '{"publicip":"10.1.2.3","backendtype":"vxlan","backenddata":{"vni":7,"vtepmac":"AA:BB:CC:DD:EE:0F"}}',
    );
    expect(attrs).toEqual({
      PublicIP: '10.1.2.3',
      PublicIPv6: null,
      BackendType: 'vxlan',
      BackendData: { vni: 7, vtepmac: 'AA:BB:CC:DD:EE:0F' },
    });
    expect(vxlanDataOf(attrs)).toEqual({ VNI: 7, VtepMAC: 'aa:bb:cc:dd:ee:0f' });
  });

  it.each([
    ['', /not JSON/],
    ['null', /not a JSON object/],
    ['{}', /PublicIP/],
    ['{"PublicIP":"300.1.1.1"}', /PublicIP/],
    ['{"PublicIP":"10.0.0.1","PublicIPv6":5}', /PublicIPv6/],
    ['{"PublicIP":"10.0.0.1","BackendType":1}', /BackendType/],
    ['{"PublicIP":"10.0.0.1","BackendData":"x"}', /BackendData/],
  ])('rejects %j with REGISTRY_BAD_LEASE', (text, message) => {
    expect(() => parseLeaseValue(text)).toThrow(message);
    try {
      parseLeaseValue(text);
    } catch (err) {
      expect(isRegistryError(err, 'REGISTRY_BAD_LEASE')).toBe(true);
    }
  });

  it('vxlanDataOf refuses non-vxlan leases and bad MACs', () => {
    expect(vxlanDataOf({ PublicIP: '10.0.0.1', PublicIPv6: null })).toBeNull();
    expect(
      vxlanDataOf({
        PublicIP: '10.0.0.1',
        PublicIPv6: null,
        BackendType: 'vxlan',
        BackendData: { VNI: 1, VtepMAC: 'zz' },
      }),
    ).toBeNull();
  });
});
