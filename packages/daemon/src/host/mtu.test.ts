import { describe, expect, it } from 'vitest';
import { tunMtu } from './mtu.js';

describe('tunMtu', () => {
  it("matches Flannel's numbers on a 1500-byte underlay", () => {
    expect(tunMtu(1500, 'udp')).toBe(1472);
    expect(tunMtu(1500, 'vxlan')).toBe(1450);
    expect(tunMtu(1500, 'ipip')).toBe(1480);
  });

  it('follows the underlay MTU', () => {
    expect(tunMtu(9000, 'vxlan')).toBe(8950);
    expect(tunMtu(1400, 'udp')).toBe(1372);
  });
});
