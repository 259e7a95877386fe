import { describe, expect, it } from 'vitest';
import { chooseDataplaneWorkers } from './dataplane-workers.js';

describe('chooseDataplaneWorkers', () => {
  it('auto: one worker up to 2 cores, two above', () => {
    expect(chooseDataplaneWorkers('auto', 'vxlan', 1).workers).toBe(1);
    expect(chooseDataplaneWorkers('auto', 'vxlan', 2).workers).toBe(1);
    expect(chooseDataplaneWorkers('auto', 'udp', 8)).toEqual({ workers: 2, note: 'auto: 2 for 8 cores' });
  });

  it('an explicit count is taken as given for udp and vxlan', () => {
    expect(chooseDataplaneWorkers(3, 'vxlan', 2)).toEqual({ workers: 3, note: null });
    expect(chooseDataplaneWorkers(1, 'udp', 64)).toEqual({ workers: 1, note: null });
  });

  it('ipip always runs one worker, and says so when more were asked for', () => {
    expect(chooseDataplaneWorkers('auto', 'ipip', 64)).toEqual({ workers: 1, note: null });
    expect(chooseDataplaneWorkers(4, 'ipip', 64).workers).toBe(1);
    expect(chooseDataplaneWorkers(4, 'ipip', 64).note).toMatch(/ipip/);
  });
});
