// Sends argv[4] UDP datagrams of argv[6] bytes to argv[2]:argv[3] in bursts of argv[5] (back to back, so
// one TUN read batch holds many), a short pause between bursts; prints 'sent <count>'. Datagram i holds
// i (uint32, big-endian) and then bytes (i + j) & 255, so the sink can check order and content.
import { createSocket } from 'node:dgram';

const [address, port, count, burst, size] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
const socket = createSocket('udp4');

function datagram(i) {
  const bytes = Buffer.alloc(size);
  bytes.writeUInt32BE(i, 0);
  for (let j = 4; j < size; j++) bytes[j] = (i + j) & 255;
  return bytes;
}

const send = (bytes) =>
  new Promise((resolve, reject) =>
    socket.send(bytes, port, address, (err) => (err ? reject(err) : resolve())),
  );

for (let i = 0; i < count; i += burst) {
  const sends = [];
  for (let k = i; k < Math.min(count, i + burst); k++) sends.push(send(datagram(k)));
  await Promise.all(sends);
  await new Promise((resolve) => setTimeout(resolve, 2));
}
console.log(`sent ${count}`);
socket.close();
