// Accepts one TCP connection on argv[2]:argv[3], prints 'listening', then 'received <bytes> <sha256>'.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

const hash = createHash('sha256');
let bytes = 0;
const server = createServer((socket) => {
  socket.on('data', (chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  socket.on('end', () => {
    console.log(`received ${bytes} ${hash.digest('hex')}`);
    server.close();
  });
});
server.listen(Number(process.argv[3]), process.argv[2], () => console.log('listening'));
