import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DROP_REASONS } from '../api.js';
import { HEADROOM } from '../constants.js';
import { reasonOf } from '../drops.js';
import { decodeIpip, encodeIpip, IPIP_OVERHEAD } from './ipip.js';
import { decodeUdp, encodeUdp } from './udp.js';
import { decodeVxlan, encodeVxlan, macHi, macLo, VXLAN_OVERHEAD } from './vxlan.js';

const macArb = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((m) => {
  m[0] = (m[0] & 0xfe) | 0x02;
  return m;
});
const payloadArb = fc.uint8Array({ minLength: 20, maxLength: 1500 });

function expectDropCode(result: number): void {
  expect(Number.isInteger(result)).toBe(true);
  if (result < 0) expect(DROP_REASONS[reasonOf(result)]).toBeDefined();
}

describe('vxlan codec', () => {
  it('writes the RFC 7348 header and the inner Ethernet header the kernel expects', () => {
    const buf = new Uint8Array(256);
    const ours = Uint8Array.of(0x0e, 0x2a, 1, 2, 3, 4);
    const peer = Uint8Array.of(0x0e, 0x2a, 5, 6, 7, 8);
    const start = encodeVxlan(buf, HEADROOM, 0x123456, macHi(peer), macLo(peer), macHi(ours), macLo(ours));
    expect(start).toBe(HEADROOM - 22);
    expect([...buf.subarray(start, HEADROOM)]).toEqual([
      0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0, 0x0e, 0x2a, 5, 6, 7, 8, 0x0e, 0x2a, 1, 2, 3, 4, 0x08, 0x00,
    ]);
  });

  it('round-trips any packet, VNI and MAC pair', () => {
    fc.assert(
      fc.property(
        payloadArb,
        fc.integer({ min: 0, max: 0xffffff }),
        macArb,
        macArb,
        (payload, vni, src, dst) => {
          const buf = new Uint8Array(HEADROOM + payload.length);
          buf.set(payload, HEADROOM);
          const start = encodeVxlan(buf, HEADROOM, vni, macHi(dst), macLo(dst), macHi(src), macLo(src));
          const inner = decodeVxlan(buf, start, payload.length + VXLAN_OVERHEAD, vni, macHi(dst), macLo(dst));
          expect(inner).toBe(HEADROOM);
          expect(buf.subarray(inner)).toEqual(payload);
        },
      ),
    );
  });

  it('rejects wrong flags, reserved bits, VNI, destination MAC and EtherType with their reasons', () => {
    const buf = new Uint8Array(HEADROOM + 40);
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    const fresh = (): number => encodeVxlan(buf, HEADROOM, 7, macHi(mac), macLo(mac), 0x0200, 2);
    const decode = (start: number): string =>
      DROP_REASONS[reasonOf(decodeVxlan(buf, start, 62, 7, macHi(mac), macLo(mac)))];
    let s = fresh();
    buf[s] = 0x0c;
    expect(decode(s)).toBe('bad_vxlan_header');
    s = fresh();
    buf[s + 7] = 1;
    expect(decode(s)).toBe('bad_vxlan_header');
    s = fresh();
    buf[s + 6] = 8;
    expect(decode(s)).toBe('wrong_vni');
    s = fresh();
    buf[s + 13] = 9;
    expect(decode(s)).toBe('wrong_dst_mac');
    s = fresh();
    buf[s + 20] = 0x08;
    buf[s + 21] = 0x06;
    expect(decode(s)).toBe('bad_ethertype');
    s = fresh();
    buf.fill(0xff, s + 8, s + 14);
    expect(decodeVxlan(buf, s, 62, 7, macHi(mac), macLo(mac))).toBe(HEADROOM);
  });

  it('never throws on random bytes and returns an offset or a known drop code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 0xffffff }), (bytes, vni) => {
        const r = decodeVxlan(bytes, 0, bytes.length, vni, 0x0200, 1);
        expectDropCode(r);
        if (r >= 0) expect(r).toBe(VXLAN_OVERHEAD);
      }),
    );
  });
});

describe('ipip codec', () => {
  it('writes a Linux-ipip outer header: DF, inherited TTL, ECN copied, protocol 4 (checksum: kernel)', () => {
    const buf = new Uint8Array(HEADROOM + 60);
    buf[HEADROOM] = 0x45;
    buf[HEADROOM + 1] = 0xb9; // DSCP 46, ECN 01
    buf[HEADROOM + 8] = 17;
    const start = encodeIpip(buf, HEADROOM, 60, 0xc6120001 | 0, 0xc6120002 | 0);
    expect(start).toBe(HEADROOM - IPIP_OVERHEAD);
    expect(buf[start]).toBe(0x45);
    expect(buf[start + 1]).toBe(0x01);
    expect((buf[start + 2] << 8) | buf[start + 3]).toBe(80);
    expect(buf[start + 6]).toBe(0x40);
    expect(buf[start + 8]).toBe(17);
    expect(buf[start + 9]).toBe(4);
    expect([buf[start + 10], buf[start + 11]]).toEqual([0, 0]);
    expect([...buf.subarray(start + 12, start + 20)]).toEqual([198, 18, 0, 1, 198, 18, 0, 2]);
  });

  it('round-trips any packet and rejects other protocols', () => {
    fc.assert(
      fc.property(payloadArb, fc.integer(), fc.integer(), (payload, src, dst) => {
        const buf = new Uint8Array(HEADROOM + payload.length);
        buf.set(payload, HEADROOM);
        const start = encodeIpip(buf, HEADROOM, payload.length, src | 0, dst | 0);
        expect(decodeIpip(buf, start, payload.length + 20)).toBe(HEADROOM);
        expect(buf.subarray(HEADROOM)).toEqual(payload);
        buf[start + 9] = 17;
        expect(DROP_REASONS[reasonOf(decodeIpip(buf, start, payload.length + 20))]).toBe('malformed');
      }),
    );
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const r = decodeIpip(bytes, 0, bytes.length);
        expectDropCode(r);
        if (r >= 0) expect(r).toBeGreaterThanOrEqual(20);
      }),
    );
  });
});

describe('udp codec', () => {
  it('is the identity: the UDP payload is the inner packet (Flannel udp backend)', () => {
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const buf = Uint8Array.from(payload);
        const start = encodeUdp(buf, 0);
        expect(decodeUdp(buf, start, buf.length)).toBe(0);
        expect(buf).toEqual(payload);
      }),
    );
  });
});
