// For gro-checksum.test.ts, run inside a namespace: a @felt/netio UDP socket with UDP_GRO on port
// argv[2] receives until argv[3] bytes arrived (or 10 s passed), printing one JSON line per datagram:
// its segment size (0 = not coalesced) and its bytes (base64).
import { MSG_LENGTH, MSG_OFFSET, MSG_SEGMENT, MSG_STRIDE, openUdp } from '@felt/netio';

const SLOT = 65536;
const RECORDS = 16;
const [port, want] = process.argv.slice(2).map(Number);
const socket = openUdp({ family: 4, address: '0.0.0.0', port, gro: true });
const memory = new Uint8Array(new SharedArrayBuffer(SLOT * RECORDS));
const meta = new Int32Array(RECORDS * MSG_STRIDE);
socket.attach(memory, meta);
console.log(JSON.stringify({ ready: true, gro: socket.gro }));
let got = 0;
const deadline = Date.now() + 10_000;
while (got < want && Date.now() < deadline) {
  for (let r = 0; r < RECORDS; r++) {
    meta[r * MSG_STRIDE + MSG_OFFSET] = r * SLOT;
    meta[r * MSG_STRIDE + MSG_LENGTH] = SLOT;
  }
  const n = socket.recv(0, RECORDS);
  for (let r = 0; r < n; r++) {
    const length = meta[r * MSG_STRIDE + MSG_LENGTH];
    if (length < 0) continue;
    got += length;
    const bytes = Buffer.from(memory.subarray(r * SLOT, r * SLOT + length)).toString('base64');
    console.log(JSON.stringify({ segment: meta[r * MSG_STRIDE + MSG_SEGMENT], bytes }));
  }
  if (n === 0) await new Promise((resolve) => setTimeout(resolve, 10));
}
socket.close();
