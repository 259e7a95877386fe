// Sends argv[4] random bytes to argv[2]:argv[3] over TCP and prints 'sent <bytes> <sha256>'.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

const total = Number(process.argv[4]);
const hash = createHash('sha256');
const socket = connect(Number(process.argv[3]), process.argv[2], async () => {
  for (let sent = 0; sent < total; ) {
    const chunk = randomBytes(Math.min(256 * 1024, total - sent));
    hash.update(chunk);
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end(() => console.log(`sent ${total} ${hash.digest('hex')}`));
});
socket.on('error', (err) => {
  console.log(`error ${err.message}`);
  process.exit(1);
});
