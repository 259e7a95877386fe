import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_LIMIT,
  chooseSubnet,
  freeCandidates,
  isFree,
  normaliseSubnet,
  subnetFitsConfig,
} from './allocate.js';
import { parseNetworkConfig } from './config.js';
import { parseSubnetKey, subnetKey } from './subnet-math/cidr.js';

const config = parseNetworkConfig('{"Network":"10.244.0.0/16"}');

describe('subnet allocation', () => {
  it('starts at the second subnet and takes the lowest 100 free ones', () => {
    const c = freeCandidates(config, []);
    expect(c).toHaveLength(CANDIDATE_LIMIT);
    expect(c[0]).toBe('10.244.1.0/24');
    expect(c[99]).toBe('10.244.100.0/24');
  });

  it('skips leased and overlapping subnets', () => {
    const c = freeCandidates(config, ['10.244.1.0/24', '10.244.2.0/23', '10.244.4.128/25'], 3);
    expect(c).toEqual(['10.244.5.0/24', '10.244.6.0/24', '10.244.7.0/24']);
  });

  it('picks at random among the candidates and reports a full range as null', () => {
    expect(chooseSubnet(config, [], () => 0)).toBe('10.244.1.0/24');
    expect(chooseSubnet(config, [], () => 0.999)).toBe('10.244.100.0/24');
    const tiny = parseNetworkConfig('{"Network":"10.0.0.0/28"}');
    expect(freeCandidates(tiny, [])).toEqual(['10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/30']);
    expect(chooseSubnet(tiny, ['10.0.0.4/30', '10.0.0.8/30', '10.0.0.12/30'])).toBeNull();
  });

  it('checks that a subnet fits the config', () => {
    expect(subnetFitsConfig(config, '10.244.9.0/24')).toBe(true);
    expect(subnetFitsConfig(config, '10.244.0.0/24')).toBe(false); // below SubnetMin
    expect(subnetFitsConfig(config, '10.244.9.0/25')).toBe(false);
    expect(subnetFitsConfig(config, '10.245.9.0/24')).toBe(false);
  });

  it('sees a subnet as taken when any lease overlaps it', () => {
    expect(isFree('10.244.3.0/24', ['10.244.2.0/23'])).toBe(false);
    expect(isFree('10.244.3.0/24', ['10.244.4.0/24', '10.244.2.0/24'])).toBe(true);
  });

  it('reads subnet.env style subnets', () => {
    expect(normaliseSubnet('10.244.3.1/24')).toBe('10.244.3.0/24');
    expect(normaliseSubnet('nope')).toBeNull();
  });

  it('formats and parses Flannel subnet keys', () => {
    expect(subnetKey('10.244.3.0/24')).toBe('10.244.3.0-24');
    expect(parseSubnetKey('10.244.3.0-24')).toBe('10.244.3.0/24');
    expect(parseSubnetKey('10.5.34.0-24&fc00::-64')).toBe('10.5.34.0/24');
    expect(parseSubnetKey('10.244.3.7-24')).toBeNull();
    expect(parseSubnetKey('garbage')).toBeNull();
    expect(() => subnetKey('10.244.3.1/24')).toThrow(/not an IPv4 network/);
  });
});
