import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decrementTtl, formatIpv4, internetChecksum, parseCidr, parseIpv4, parseMac } from './ipv4.js';

describe('ipv4 helpers', () => {
  it('parses and formats addresses, CIDRs and MACs, rejecting garbage', () => {
    expect(parseIpv4('198.18.0.1')).toBe(0xc6120001);
    expect(formatIpv4(0xc6120001)).toBe('198.18.0.1');
    expect(parseIpv4('256.1.1.1')).toBe(-1);
    expect(parseIpv4('1.2.3')).toBe(-1);
    expect(parseCidr('10.244.0.0/16')).toEqual({ base: 0x0af40000, prefixLength: 16, mask: 0xffff0000 });
    expect(parseCidr('10.244.0.1/16')).toBeUndefined();
    expect(parseCidr('10.244.0.0/33')).toBeUndefined();
    expect(parseMac('0e:2a:00:00:00:01')).toEqual(Uint8Array.of(0x0e, 0x2a, 0, 0, 0, 1));
    expect(parseMac('0e:2a:00:00:00')).toBeUndefined();
  });

  it('TTL decrement keeps the header checksum valid (RFC 1624) for any header', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.integer({ min: 1, max: 255 }),
        (header, ttl) => {
          header[0] = 0x45;
          header[8] = ttl;
          header[10] = 0;
          header[11] = 0;
          const checksum = internetChecksum(header, 0, 20);
          header[10] = checksum >>> 8;
          header[11] = checksum;
          decrementTtl(header, 0);
          expect(header[8]).toBe(ttl - 1);
          expect(internetChecksum(header, 0, 20)).toBe(0);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
