/**
 * Why Tun.writeInbound may skip the inner checksums of packets that came in a datagram with a UDP_GRO
 * segment size (Inbound.COVERED): the kernel merges only datagrams whose non-zero UDP checksum it
 * verified. Between two namespaces, raw IPv4/UDP datagrams (no checksum offload: the receiver must
 * verify them) cross a veth whose receiving end does GRO, into a @felt/netio socket with UDP_GRO:
 * - one corrupted in transit (payload changed, checksum not) never arrives, and is counted as
 *   InCsumErrors; every datagram reported with a segment size holds only intact payloads;
 * - with checksum 0, as a kernel vxlan peer sends them, none is ever reported with a segment size, so
 *   the receive loop verifies their inner checksums (Inbound.CHECK).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, sh } from '../harness/netns.js';

const PAYLOAD = 200;
const COUNT = 40;
const RECEIVER = new URL('./gro-receiver.mjs', import.meta.url).pathname;

/** python3: argv src dst port count corruptIndex zeroChecksum; raw IPv4/UDP datagrams from port 7000. */
const PY_RAW_UDP = [
  'import socket, struct, sys',
  'src, dst, port, count, corrupt, zero = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])',
  'def total(b):',
  '    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))',
  '    while s >> 16: s = (s & 0xffff) + (s >> 16)',
  '    return s',
  's = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)',
  'for i in range(count):',
  `    payload = struct.pack("!H", i) + bytes((i * 7 + k) & 255 for k in range(${PAYLOAD} - 2))`,
  '    ul = 8 + len(payload)',
  '    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ul)',
  '    check = 0 if zero else ((~total(pseudo + struct.pack("!HHHH", 7000, port, ul, 0) + payload)) & 0xffff or 0xffff)',
  '    if i == corrupt: payload = payload[:-1] + bytes([payload[-1] ^ 1])',
  '    udp = struct.pack("!HHHH", 7000, port, ul, check) + payload',
  '    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ul, i, 0x4000, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))',
  '    s.sendto(ip + udp, (dst, 0))',
].join('\n');

/** The payload sender index `index` sent (before any corruption). */
function expectedPayload(index: number): Buffer {
  const bytes = Buffer.alloc(PAYLOAD);
  bytes.writeUInt16BE(index, 0);
  for (let k = 0; k < PAYLOAD - 2; k++) bytes[2 + k] = (index * 7 + k) & 255;
  return bytes;
}

interface Received {
  segment: number;
  payloads: Buffer[];
}

describe('UDP GRO delivers only datagrams whose checksum the kernel verified', () => {
  const lab = new Lab('g');
  let nsA: string;
  let nsB: string;
  const a = `${lab.underlay}.1`;
  const b = `${lab.underlay}.2`;

  beforeAll(async () => {
    nsA = await lab.addNetns('a');
    nsB = await lab.addNetns('b');
    await lab.addVeth(nsA, 'veth0', nsB, 'veth0');
    await sh('ip', ['addr', 'add', `${a}/24`, 'dev', 'veth0'], { netns: nsA });
    await sh('ip', ['addr', 'add', `${b}/24`, 'dev', 'veth0'], { netns: nsB });
    // The receiving veth end does GRO (NAPI) for what a sender without TSO hands it; GRO holds packets
    // across polls for up to 2 ms, so back-to-back datagrams merge.
    await sh('ethtool', ['-K', 'veth0', 'tso', 'off', 'gso', 'off'], { netns: nsA });
    await sh('ethtool', ['-K', 'veth0', 'gro', 'on'], { netns: nsB });
    await sh('sh', ['-c', 'echo 2000000 > /sys/class/net/veth0/gro_flush_timeout'], { netns: nsB });
  });
  afterAll(() => lab.dispose());

  async function inCsumErrors(): Promise<number> {
    const snmp = (await sh('cat', ['/proc/net/snmp'], { netns: nsB })).stdout.split('\n');
    const [names, values] = snmp.filter((line) => line.startsWith('Udp:')).map((line) => line.split(/\s+/));
    return Number(values[names.indexOf('InCsumErrors')]);
  }

  /** Sends COUNT raw datagrams a → b:port; returns what the GRO socket received. */
  async function exchange(port: number, corrupt: number, zeroChecksum: boolean): Promise<Received[]> {
    const arriving = corrupt >= 0 ? COUNT - 1 : COUNT;
    const receiver = lab.spawn(nsB, process.execPath, [RECEIVER, String(port), String(arriving * PAYLOAD)]);
    await receiver.waitForOutput(/"ready":true,"gro":true/, 10_000);
    await sh(
      'python3',
      ['-c', PY_RAW_UDP, a, b, String(port), String(COUNT), String(corrupt), zeroChecksum ? '1' : '0'],
      { netns: nsA },
    );
    await receiver.exited;
    return receiver
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{"segment"'))
      .map((line) => {
        const { segment, bytes } = JSON.parse(line) as { segment: number; bytes: string };
        const datagram = Buffer.from(bytes, 'base64');
        const step = segment > 0 ? segment : datagram.length;
        const payloads: Buffer[] = [];
        for (let at = 0; at < datagram.length; at += step) payloads.push(datagram.subarray(at, at + step));
        return { segment, payloads };
      });
  }

  it('drops a datagram corrupted in transit before GRO; what comes with a segment size is intact', async () => {
    const errorsBefore = await inCsumErrors();
    const received = await exchange(6100, 17, false);
    // GRO did merge (otherwise this test would prove nothing).
    expect(received.some((d) => d.segment > 0 && d.payloads.length > 1)).toBe(true);
    const payloads = received.flatMap((d) => d.payloads);
    const indices = payloads.map((p) => p.readUInt16BE(0));
    expect(indices).toEqual(Array.from({ length: COUNT }, (_, i) => i).filter((i) => i !== 17));
    for (const payload of payloads)
      expect(payload.equals(expectedPayload(payload.readUInt16BE(0)))).toBe(true);
    expect(await inCsumErrors()).toBe(errorsBefore + 1);
  });

  it('never reports a segment size for datagrams without a checksum (as a kernel vxlan peer sends)', async () => {
    const received = await exchange(6101, -1, true);
    expect(received.map((d) => d.segment)).toEqual(Array.from({ length: COUNT }, () => 0));
    expect(received.map((d) => d.payloads[0].readUInt16BE(0))).toEqual(
      Array.from({ length: COUNT }, (_, i) => i),
    );
  });
});
