import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  intToIpv4,
  ipv4ToInt,
  ipv6ToWords,
  recordPeerAddress,
  setRecordPeer,
  wordsToIpv6,
} from './address.js';
import { MSG_ADDR, MSG_PORT, MSG_STRIDE } from './types.js';

describe('address helpers', () => {
  it('converts IPv4 text to a host-order integer and back, also from its int32 form', () => {
    expect(ipv4ToInt('10.1.2.3')).toBe(0x0a010203);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(intToIpv4(0xc0a80001 | 0)).toBe('192.168.0.1');
    fc.assert(fc.property(fc.ipV4(), (ip) => intToIpv4(ipv4ToInt(ip)) === ip));
  });

  it('converts IPv6 text to four words and back to the short form', () => {
    expect(ipv6ToWords('::1')).toEqual([0, 0, 0, 1]);
    expect(ipv6ToWords('fd00:1::a')).toEqual([0xfd000001, 0, 0, 0xa]);
    expect(ipv6ToWords('::ffff:10.0.0.1')).toEqual([0, 0, 0xffff, 0x0a000001]);
    expect(wordsToIpv6([0, 0, 0, 1])).toBe('::1');
    expect(wordsToIpv6([0xfd000001, 0, 0, 0xa])).toBe('fd00:1::a');
    expect(wordsToIpv6([0x20010db8, 0x00010000, 0x00010000, 0x00010001])).toBe('2001:db8:1:0:1:0:1:1');
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const words = ipv6ToWords(ip);
        return JSON.stringify(ipv6ToWords(wordsToIpv6(words))) === JSON.stringify(words);
      }),
    );
  });

  it('refuses text that is not an address of the family', () => {
    for (const bad of ['10.1.2', '1.2.3.256', 'example.org', '']) {
      expect(() => ipv4ToInt(bad)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
    }
    for (const bad of ['10.1.2.3', 'fe80::1%eth0', ':::']) {
      expect(() => ipv6ToWords(bad)).toThrow(expect.objectContaining({ code: 'NETIO_BAD_ARGUMENT' }));
    }
  });

  it('writes and reads a record peer in the record layout', () => {
    const meta = new Int32Array(3 * MSG_STRIDE);
    setRecordPeer(meta, 1, '192.168.0.1', 8472);
    expect(meta[MSG_STRIDE + MSG_ADDR]).toBe(0xc0a80001 | 0);
    expect(meta[MSG_STRIDE + MSG_PORT]).toBe(8472);
    expect(recordPeerAddress(meta, 1, 4)).toBe('192.168.0.1');
    setRecordPeer(meta, 2, 'fd00::5', 53);
    expect(recordPeerAddress(meta, 2, 6)).toBe('fd00::5');
  });
});
