/** Shared set-up for the TUN system tests: a region of slots and records, and small Python peers. */
import { MSG_LENGTH, MSG_OFFSET, MSG_STRIDE, type Tun } from '@felt/netio';
import { sh } from '../harness/netns.js';

export const SLOT = 2048;
/** Bytes left in front of every packet (where a tunnel header would later go). */
export const HEADROOM = 64;
export const HEADROOM_SENTINEL = 0xa5;

export interface Region {
  memory: Uint8Array;
  meta: Int32Array;
}

export function makeRegion(records: number): Region {
  const memory = new Uint8Array(new SharedArrayBuffer(SLOT * records));
  return { memory, meta: new Int32Array(records * MSG_STRIDE) };
}

/** Points records first..first+count-1 at their slots (after the headroom) with full capacity. */
export function armSlots(region: Region, first: number, count: number): void {
  for (let r = first; r < first + count; r++) {
    region.meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT + HEADROOM;
    region.meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT - HEADROOM;
    region.memory.fill(HEADROOM_SENTINEL, r * SLOT, r * SLOT + HEADROOM);
  }
}

export function recordBytes(region: Region, record: number): Uint8Array {
  const offset = region.meta[record * MSG_STRIDE + MSG_OFFSET];
  const length = region.meta[record * MSG_STRIDE + MSG_LENGTH];
  return region.memory.subarray(offset, offset + length);
}

/** Puts `bytes` into record `record`'s slot (after the headroom) and sets its length. */
export function fillRecord(region: Region, record: number, bytes: Uint8Array): void {
  const offset = record * SLOT + HEADROOM;
  region.memory.set(bytes, offset);
  region.meta[record * MSG_STRIDE + MSG_OFFSET] = offset;
  region.meta[record * MSG_STRIDE + MSG_LENGTH] = bytes.length;
}

/** python3: sends argv[4] datagrams 'msg-<i>' from argv[1]:4000 to argv[2]:argv[3], then exits. */
export const PY_SENDER = [
  'import socket, sys',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  's.bind((sys.argv[1], 4000))',
  'for i in range(int(sys.argv[4])): s.sendto(b"msg-%d" % i, (sys.argv[2], int(sys.argv[3])))',
].join('\n');

/** python3: receives argv[2] datagrams on port argv[1], printing 'got <addr> <port> <payload>' each. */
export const PY_RECEIVER = [
  'import socket, sys',
  's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
  's.bind(("0.0.0.0", int(sys.argv[1])))',
  's.settimeout(20)',
  'print("ready", flush=True)',
  'for i in range(int(sys.argv[2])):',
  '    data, peer = s.recvfrom(65535)',
  '    print("got %s %d %s" % (peer[0], peer[1], data.decode()), flush=True)',
].join('\n');

/**
 * Moves `tun` into `netns` with `local`/24 on it, up, and `route` through it. No IPv6 on the TUN:
 * router solicitations would mix into the reads.
 */
export async function tunInNetns(tun: Tun, netns: string, local: string, route: string): Promise<void> {
  await sh('ip', ['link', 'set', tun.name, 'netns', netns]);
  await sh('sysctl', ['-qw', `net.ipv6.conf.${tun.name}.disable_ipv6=1`], { netns, allowFail: true });
  await sh('ip', ['addr', 'add', `${local}/24`, 'dev', tun.name], { netns });
  await sh('ip', ['link', 'set', tun.name, 'up'], { netns });
  await sh('ip', ['route', 'add', route, 'dev', tun.name], { netns });
}
