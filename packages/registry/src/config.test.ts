import { describe, expect, it } from 'vitest';
import { formatNetworkConfig, parseNetworkConfig } from './config.js';
import { isRegistryError } from './errors.js';

function errorOf(json: string) {
  try {
    parseNetworkConfig(json);
  } catch (err) {
    if (isRegistryError(err, 'REGISTRY_BAD_CONFIG')) return err;
    throw err;
  }
  throw new Error(`expected ${json} to be rejected`);
}

describe('parseNetworkConfig', () => {
  it('applies Flannel defaults to the minimal vxlan document', () => {
    const cfg = parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
    expect(cfg.network).toEqual({ address: '10.244.0.0', prefixLength: 16, cidr: '10.244.0.0/16' });
    expect(cfg.subnetLen).toBe(24);
    expect(cfg.subnetMin).toBe('10.244.1.0');
    expect(cfg.subnetMax).toBe('10.244.255.0');
    expect(cfg.backend).toMatchObject({ type: 'vxlan', vni: 1, port: 8472 });
  });

  it('matches keys case-insensitively like Go and picks udp when Backend is absent', () => {
    const cfg = parseNetworkConfig('{"network":"10.5.0.0/16","subnetlen":26}');
    expect(cfg.subnetLen).toBe(26);
    expect(cfg.backend).toMatchObject({ type: 'udp', port: 8285, vni: 0 });
  });

  it('derives SubnetLen = prefix + 2 for networks smaller than /22', () => {
    expect(parseNetworkConfig('{"Network":"10.0.0.0/24"}').subnetLen).toBe(26);
    expect(parseNetworkConfig('{"Network":"10.0.0.0/28"}').subnetLen).toBe(30);
    expect(parseNetworkConfig('{"Network":"10.0.0.0/22"}').subnetLen).toBe(24);
  });

  it('keeps explicit backend options and normalises the type', () => {
    const cfg = parseNetworkConfig(
      '{"Network":"10.1.0.0/16","Backend":{"type":"VXLAN","vni":42,"Port":4789}}',
    );
    expect(cfg.backend).toMatchObject({ type: 'vxlan', vni: 42, port: 4789 });
    expect(parseNetworkConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"ipip"}}').backend.port).toBe(0);
    expect(
      parseNetworkConfig('{"Network":"10.1.0.0/16","Backend":{"Type":"udp","Port":9000}}').backend.port,
    ).toBe(9000);
  });

  it('masks host bits of Network like net.ParseCIDR', () => {
    expect(parseNetworkConfig('{"Network":"10.244.7.9/16"}').network.cidr).toBe('10.244.0.0/16');
  });

  it.each([
    ['not json', '(document)', /not valid JSON/],
    ['[1,2]', '(document)', /JSON object/],
    ['{}', 'Network', /Network is missing/],
    ['{"Network":"10.0.0.0"}', 'Network', /not an IPv4 CIDR/],
    ['{"Network":42}', 'Network', /not an IPv4 CIDR/],
    ['{"Network":"10.0.0.0/29"}', 'Network', /too small.*\/28/],
    ['{"Network":"10.244.0.0/16","SubnetLen":31}', 'SubnetLen', /SubnetLen 31 is larger than 30/],
    ['{"Network":"10.244.0.0/16","SubnetLen":17}', 'SubnetLen', /fewer than four subnets.*at least 18/],
    ['{"Network":"10.244.0.0/16","SubnetLen":"24"}', 'SubnetLen', /must be an integer/],
    ['{"Network":"10.244.0.0/16","SubnetMin":"10.245.0.0"}', 'SubnetMin', /outside Network/],
    [
      '{"Network":"10.244.0.0/16","SubnetMax":"10.244.3.7"}',
      'SubnetMax',
      /not on a \/24 boundary.*10\.244\.3\.0/,
    ],
    ['{"Network":"10.244.0.0/16","SubnetMin":"banana"}', 'SubnetMin', /not an IPv4 address/],
    [
      '{"Network":"10.244.0.0/16","SubnetMin":"10.244.9.0","SubnetMax":"10.244.3.0"}',
      'SubnetMin',
      /above SubnetMax/,
    ],
    ['{"Network":"10.244.0.0/16","Backend":"vxlan"}', 'Backend', /must be an object/],
    ['{"Network":"10.244.0.0/16","Backend":{}}', 'Backend.Type', /Backend.Type is missing/],
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}', 'Backend.Type', /not supported by felt/],
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}', 'Backend.VNI', /between 0 and/],
    [
      '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","Port":70000}}',
      'Backend.Port',
      /between 0 and 65535/,
    ],
    ['{"Network":"10.244.0.0/16","EnableIPv6":true}', 'EnableIPv6', /not supported/],
    ['{"Network":"10.244.0.0/16","EnableIPv4":false}', 'EnableIPv4', /not supported/],
  ])('rejects %s naming field %s', (json, field, message) => {
    const err = errorOf(json);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it('formats a config that parses back to the same values', () => {
    const cfg = parseNetworkConfig(
      '{"network":"10.5.0.0/16","backend":{"type":"vxlan","DirectRouting":true}}',
    );
    const text = formatNetworkConfig(cfg);
    expect(JSON.parse(text)).toEqual({
      Network: '10.5.0.0/16',
      SubnetLen: 24,
      SubnetMin: '10.5.1.0',
      SubnetMax: '10.5.255.0',
      Backend: { Type: 'vxlan', VNI: 1, Port: 8472, DirectRouting: true },
    });
    const again = parseNetworkConfig(text);
    expect({ ...again, raw: null, backend: { ...again.backend, raw: null } }).toEqual({
      ...cfg,
      raw: null,
      backend: { ...cfg.backend, raw: null },
    });
  });
});
