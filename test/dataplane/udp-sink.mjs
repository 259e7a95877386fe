// Receives the datagrams of udp-burst-source.mjs on argv[2]:argv[3] (argv[5] bytes each), prints
// 'listening', then, once datagram argv[4] - 1 arrived or nothing came for 2 s after the first:
// 'received <count> corrupt <count> reordered <count>' (reordered: a sequence number not above the last).
import { createSocket } from 'node:dgram';

const [address, port, count, size] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
let received = 0;
let corrupt = 0;
let reordered = 0;
let last = -1;
let idle;

function finish() {
  console.log(`received ${received} corrupt ${corrupt} reordered ${reordered}`);
  socket.close();
}

socket.on('message', (bytes) => {
  received++;
  const i = bytes.length >= 4 ? bytes.readUInt32BE(0) : -1;
  let intact = bytes.length === size;
  for (let j = 4; intact && j < size; j++) intact = bytes[j] === ((i + j) & 255);
  if (!intact) corrupt++;
  if (i <= last) reordered++;
  last = Math.max(last, i);
  clearTimeout(idle);
  if (i === count - 1) finish();
  else idle = setTimeout(finish, 2_000);
});
socket.bind(port, address, () => console.log('listening'));
