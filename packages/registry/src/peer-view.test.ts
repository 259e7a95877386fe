import { describe, expect, it } from 'vitest';
import type { StoredLease } from './lease-record.js';
import { PeerView } from './peer-view.js';

function stored(subnet: string, ip: string, modRevision: string, leaseId = '1'): StoredLease {
  const key = `/p/subnets/${subnet.replace('/', '-')}`;
  const value = JSON.stringify({ PublicIP: ip, PublicIPv6: null });
  return {
    lease: { subnet, key, attrs: { PublicIP: ip, PublicIPv6: null }, expiresAt: null },
    leaseId,
    modRevision,
    value,
  };
}

function recorder() {
  const events: string[] = [];
  const view = new PeerView({
    added: (l) => events.push(`added ${l.subnet} ${l.attrs.PublicIP}`),
    changed: (l, p) => events.push(`changed ${l.subnet} ${p.attrs.PublicIP}->${l.attrs.PublicIP}`),
    removed: (l) => events.push(`removed ${l.subnet}`),
  });
  return { events, view };
}

describe('PeerView', () => {
  it('emits add, change, remove; a renewal (same value, new etcd lease) is silent', () => {
    const { events, view } = recorder();
    view.set(stored('10.0.1.0/24', '198.18.0.1', '5'));
    view.set(stored('10.0.1.0/24', '198.18.0.1', '6', '2'));
    view.set(stored('10.0.1.0/24', '198.18.0.2', '7'));
    view.delete('/p/subnets/10.0.1.0-24');
    expect(events).toEqual([
      'added 10.0.1.0/24 198.18.0.1',
      'changed 10.0.1.0/24 198.18.0.1->198.18.0.2',
      'removed 10.0.1.0/24',
    ]);
  });

  it('replaceAll emits only the difference', () => {
    const { events, view } = recorder();
    view.replaceAll([stored('10.0.1.0/24', 'a', '1'), stored('10.0.2.0/24', 'b', '2')]);
    events.length = 0;
    view.replaceAll([stored('10.0.2.0/24', 'b', '2'), stored('10.0.3.0/24', 'c', '9')]);
    expect(events).toEqual(['removed 10.0.1.0/24', 'added 10.0.3.0/24 c']);
    expect(view.peers().map((l) => l.subnet)).toEqual(['10.0.2.0/24', '10.0.3.0/24']);
  });

  it('never reports our own key; changing our key re-exposes the old one if it still exists', () => {
    const { events, view } = recorder();
    view.setOwnKey('/p/subnets/10.0.1.0-24');
    view.set(stored('10.0.1.0/24', 'me', '1'));
    expect(events).toEqual([]);
    view.setOwnKey('/p/subnets/10.0.2.0-24');
    expect(events).toEqual(['added 10.0.1.0/24 me']);
  });

  it('holds events while held and flushes the net effect', () => {
    const { events, view } = recorder();
    view.hold();
    view.set(stored('10.0.5.0/24', 'x', '1'));
    view.setOwnKey('/p/subnets/10.0.5.0-24');
    view.release();
    expect(events).toEqual([]);
    expect(view.size).toBe(0);
  });

  it('runs whenReleased callbacks after the held changes are emitted', () => {
    const { events, view } = recorder();
    view.hold();
    view.set(stored('10.0.6.0/24', 'y', '1'));
    view.whenReleased(() => events.push('synced'));
    expect(events).toEqual([]);
    view.release();
    expect(events).toEqual(['added 10.0.6.0/24 y', 'synced']);
  });
});
