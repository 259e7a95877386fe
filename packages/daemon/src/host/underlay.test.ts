import { describe, expect, it } from 'vitest';
import {
  detectUnderlay,
  type LinkAddresses,
  parseIpAddrJson,
  type RouteSource,
  type UnderlayRequest,
  type UnderlaySystem,
  usableAddresses,
} from './underlay.js';

// A multi-NIC host: eth0 on the default route, eth1 and eth2 on two more underlay subnets, a bond
// slave without IPv4, and a link holding only a link-local address.
const LINKS: LinkAddresses[] = [
  { name: 'lo', addresses: ['127.0.0.1'], loopback: true },
  { name: 'eth0', addresses: ['198.18.0.1'], loopback: false },
  { name: 'eth1', addresses: ['169.254.9.9', '198.18.1.1', '198.18.1.2'], loopback: false },
  { name: 'eth2', addresses: ['198.18.2.1'], loopback: false, dynamic: ['198.18.2.1'] },
  { name: 'eth3', addresses: [], loopback: false },
  { name: 'll0', addresses: ['169.254.1.1'], loopback: false },
];

const ROUTES: Record<string, RouteSource> = {
  '198.19.7.1': { dev: 'eth2', src: '198.18.2.1' },
  '198.19.8.1': { dev: 'eth1', src: null },
};

function fakeSystem(links = LINKS, defaultDevice: string | null = 'eth0'): UnderlaySystem {
  return {
    links: async () => links,
    defaultRouteDevice: async () => defaultDevice,
    mtu: async (iface) => (iface === 'eth1' ? 9000 : 1500),
    routeGet: async (destination) => {
      const route = ROUTES[destination];
      if (!route) throw new Error(`ip route get ${destination}: RTNETLINK answers: Network is unreachable`);
      return route;
    },
  };
}

const request = (fields: Partial<UnderlayRequest>): UnderlayRequest => ({
  iface: [],
  publicIp: null,
  ...fields,
});

async function pick(fields: Partial<UnderlayRequest>, system = fakeSystem()) {
  const underlay = await detectUnderlay(system, request(fields));
  return `${underlay.iface} ${underlay.ifaceAddress} ${underlay.publicIp}`;
}

async function failure(fields: Partial<UnderlayRequest>, system = fakeSystem()): Promise<Error> {
  const error = await detectUnderlay(system, request(fields)).then(
    () => null,
    (err: Error) => err,
  );
  if (!error) throw new Error('expected DAEMON_NO_UNDERLAY');
  expect((error as Error & { code?: string }).code).toBe('DAEMON_NO_UNDERLAY');
  expect(error.message).not.toContain('\n');
  return error;
}

describe('--iface-regex', () => {
  it('matches addresses of every interface before any name', async () => {
    // The pattern names eth2 and matches an address of eth1: the address wins.
    expect(await pick({ ifaceRegex: ['^(eth2|198\\.18\\.1\\.1)$'] })).toBe('eth1 198.18.1.1 198.18.1.1');
    expect(await pick({ ifaceRegex: ['^198\\.18\\.1\\.'] })).toBe('eth1 198.18.1.1 198.18.1.1');
    // A later address of the interface is taken when it is the one that matches.
    expect(await pick({ ifaceRegex: ['\\.1\\.2$'] })).toBe('eth1 198.18.1.2 198.18.1.2');
  });

  it('falls back to names, taking the first usable address (global before link-local)', async () => {
    expect(await pick({ ifaceRegex: ['^eth1$'] })).toBe('eth1 198.18.1.1 198.18.1.1');
    expect(await pick({ ifaceRegex: ['(?i)^ETH2$'] })).toBe('eth2 198.18.2.1 198.18.2.1');
  });

  it('is an unanchored search, like Go regexp.MatchString', async () => {
    expect(await pick({ ifaceRegex: ['th2'] })).toBe('eth2 198.18.2.1 198.18.2.1');
  });

  it('tries patterns in order; a name match without IPv4 fails that pattern only', async () => {
    expect(await pick({ ifaceRegex: ['^bond', '^eth3$', '198\\.18\\.2\\.[0-9]{1,3}'] })).toBe(
      'eth2 198.18.2.1 198.18.2.1',
    );
    const error = await failure({ ifaceRegex: ['^bond', '^eth3$'] });
    expect(error.message).toContain('--iface-regex ^bond: matches no interface name or address');
    expect(error.message).toContain('--iface-regex ^eth3$ (interface eth3): no usable IPv4 address');
    expect(error.message).toContain('eth1=169.254.9.9+198.18.1.1+198.18.1.2');
  });

  it('never matches loopback addresses; link-local ones count, ranked last on their link', async () => {
    await failure({ ifaceRegex: ['^127\\.'] });
    expect(await pick({ ifaceRegex: ['^169\\.254\\.'] })).toBe('eth1 169.254.9.9 169.254.9.9');
    expect(await pick({ ifaceRegex: ['^ll0$'] })).toBe('ll0 169.254.1.1 169.254.1.1');
  });

  it('is used only after every --iface missed', async () => {
    expect(await pick({ iface: ['eth2'], ifaceRegex: ['^eth1$'] })).toBe('eth2 198.18.2.1 198.18.2.1');
    expect(await pick({ iface: ['nope0', '198.18.9.9'], ifaceRegex: ['^eth1$'] })).toBe(
      'eth1 198.18.1.1 198.18.1.1',
    );
  });
});

describe('--iface-can-reach', () => {
  it('takes the device and source address of the route', async () => {
    expect(await pick({ ifaceCanReach: '198.19.7.1' })).toBe('eth2 198.18.2.1 198.18.2.1');
    // No source address in the route: the device's first usable address.
    expect(await pick({ ifaceCanReach: '198.19.8.1' })).toBe('eth1 198.18.1.1 198.18.1.1');
  });

  it('is used only after --iface and --iface-regex missed', async () => {
    expect(await pick({ ifaceRegex: ['^eth1$'], ifaceCanReach: '198.19.7.1' })).toBe(
      'eth1 198.18.1.1 198.18.1.1',
    );
    expect(await pick({ iface: ['nope0'], ifaceRegex: ['^bond'], ifaceCanReach: '198.19.7.1' })).toBe(
      'eth2 198.18.2.1 198.18.2.1',
    );
  });

  it('fails with the kernel reason when there is no route, after listing every miss', async () => {
    const error = await failure({ iface: ['nope0'], ifaceCanReach: '198.19.99.1' });
    expect(error.message).toContain('--iface nope0: no such interface');
    expect(error.message).toContain('--iface-can-reach 198.19.99.1: ip route get 198.19.99.1');
    expect(error.message).toContain('Network is unreachable');
  });

  it('fails when the system cannot look routes up', async () => {
    const { routeGet: _unused, ...withoutRoutes } = fakeSystem();
    const error = await failure({ ifaceCanReach: '198.19.7.1' }, withoutRoutes);
    expect(error.message).toContain('route lookup unavailable');
  });
});

describe('--public-ip', () => {
  it('with a selector only replaces the advertised address', async () => {
    expect(await pick({ ifaceRegex: ['^eth1$'], publicIp: '198.19.0.50' })).toBe(
      'eth1 198.18.1.1 198.19.0.50',
    );
    expect(await pick({ ifaceCanReach: '198.19.7.1', publicIp: '198.19.0.50' })).toBe(
      'eth2 198.18.2.1 198.19.0.50',
    );
  });

  it('without a selector picks the interface holding it, else (a NAT address) the default route', async () => {
    expect(await pick({ publicIp: '198.18.1.2' })).toBe('eth1 198.18.1.2 198.18.1.2');
    // flanneld exits here (issue #1397); felt keeps the default-route choice.
    expect(await pick({ publicIp: '198.19.0.50' })).toBe('eth0 198.18.0.1 198.19.0.50');
  });
});

describe('default selection', () => {
  it('uses the default route, else the only non-loopback interface with a usable address', async () => {
    expect(await pick({})).toBe('eth0 198.18.0.1 198.18.0.1');
    const single: LinkAddresses[] = [
      LINKS[0],
      LINKS[4],
      { name: 'eth9', addresses: ['198.18.9.1'], loopback: false },
    ];
    expect(await pick({}, fakeSystem(single, null))).toBe('eth9 198.18.9.1 198.18.9.1');
    await failure({}, fakeSystem(LINKS, null));
  });

  it('reports the MTU of the chosen interface', async () => {
    const underlay = await detectUnderlay(fakeSystem(), request({ ifaceRegex: ['^eth1$'] }));
    expect(underlay.mtu).toBe(9000);
  });
});

describe('usableAddresses', () => {
  it('drops loopback, multicast, broadcast and deprecated; ranks link-local and dynamic last', () => {
    const link: LinkAddresses = {
      name: 'x',
      addresses: [
        '169.254.0.1',
        '198.18.0.3',
        '127.0.0.2',
        '224.0.0.1',
        '198.18.0.4',
        '198.18.0.5',
        '0.0.0.0',
      ],
      loopback: false,
      dynamic: ['198.18.0.3'],
      deprecated: ['198.18.0.5'],
    };
    expect(usableAddresses(link)).toEqual(['198.18.0.4', '198.18.0.3', '169.254.0.1']);
  });
});

describe('parseIpAddrJson', () => {
  it('keeps every interface in kernel order with its IPv4 addresses and flags', () => {
    const text = JSON.stringify([
      { ifname: 'lo', link_type: 'loopback', addr_info: [{ family: 'inet', local: '127.0.0.1' }] },
      { ifname: 'ifb0', flags: ['BROADCAST'], addr_info: [] },
      {
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '198.18.0.1', dynamic: true },
          { family: 'inet6', local: 'fe80::1' },
          { family: 'inet', local: '198.18.0.2', deprecated: true },
        ],
      },
    ]);
    expect(parseIpAddrJson(text)).toEqual([
      { name: 'lo', addresses: ['127.0.0.1'], loopback: true, dynamic: [], deprecated: [] },
      { name: 'ifb0', addresses: [], loopback: false, dynamic: [], deprecated: [] },
      {
        name: 'eth0',
        addresses: ['198.18.0.1', '198.18.0.2'],
        loopback: false,
        dynamic: ['198.18.0.1'],
        deprecated: ['198.18.0.2'],
      },
    ]);
  });
});
