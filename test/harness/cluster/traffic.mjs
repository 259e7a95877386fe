#!/usr/bin/env node
// Small traffic tools run inside pod/outside namespaces (`node traffic.mjs <mode> ...`), so tests need no
// python or netcat. Every mode is bounded by --timeout-ms (exit code 2 when it fires) and prints one JSON
// line with its result, or 'listening <port>' once a server is bound.
//   sink <port>                          accept one TCP connection, print {bytes, sha256} of what arrived
//   send <host> <port> <bytes> [--rate-mbps N]  send deterministic data, print {bytes, sha256, seconds}
//   whoami-server <port>                 answer every TCP connection with the peer's address, forever
//   whoami <host> <port>                 print {address} as the server saw us
//   garbage <host> <port> <count>        send <count> pseudo-random UDP datagrams, print {sent}
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const CHUNK_BYTES = 64 * 1024;

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

// Positional arguments: everything that is neither an --option nor its value.
const positional = process.argv
  .slice(2)
  .filter((arg, i, all) => !arg.startsWith('--') && !all[i - 1]?.startsWith('--'));
const [mode, ...args] = positional;
const timeoutMs = option('--timeout-ms', 60_000);
setTimeout(() => {
  console.error(`traffic ${mode}: timed out after ${timeoutMs} ms`);
  process.exit(2);
}, timeoutMs).unref();

// xorshift32: the same seed always yields the same bytes, so sender and test agree without sharing files.
function pseudoRandomBlock(bytes, seed) {
  const block = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  return block;
}

function printJson(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function sink(port) {
  const server = createServer((socket) => {
    server.close();
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (data) => {
      bytes += data.length;
      hash.update(data);
    });
    socket.on('end', () => {
      printJson({ bytes, sha256: hash.digest('hex') });
      socket.end();
    });
    socket.on('error', (err) => {
      console.error(`traffic sink: ${err.message}`);
      process.exit(1);
    });
  });
  server.listen(port, '0.0.0.0', () => console.log(`listening ${port}`));
}

async function send(host, port, total, rateMbps) {
  const socket = connect({ host, port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const closed = new Promise((resolve, reject) => {
    socket.once('close', resolve);
    socket.once('error', reject);
  });
  socket.resume();
  const base = pseudoRandomBlock(CHUNK_BYTES, 0x5eed);
  const hash = createHash('sha256');
  const started = performance.now();
  let sent = 0;
  for (let index = 0; sent < total; index++) {
    // Each chunk differs (its index in the first 8 bytes), so a duplicated or reordered chunk changes the hash.
    const chunk = Buffer.from(base.subarray(0, Math.min(CHUNK_BYTES, total - sent)));
    if (chunk.length >= 8) chunk.writeBigUInt64LE(BigInt(index), 0);
    hash.update(chunk);
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
    if (rateMbps > 0) {
      const aheadMs = (sent * 8) / (rateMbps * 1000) - (performance.now() - started);
      if (aheadMs > 1) await sleep(aheadMs);
    }
  }
  socket.end();
  await closed;
  printJson({ bytes: sent, sha256: hash.digest('hex'), seconds: (performance.now() - started) / 1000 });
}

function whoamiServer(port) {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(`${socket.remoteAddress}\n`);
  });
  server.listen(port, '0.0.0.0', () => console.log(`listening ${port}`));
}

async function whoami(host, port) {
  const socket = connect({ host, port });
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (data) => {
    reply += data;
  });
  await new Promise((resolve, reject) => {
    socket.once('close', resolve);
    socket.once('error', reject);
  });
  printJson({ address: reply.trim() });
}

async function garbage(host, port, count) {
  const socket = createSocket('udp4');
  const noise = pseudoRandomBlock(2048, 0xbad);
  for (let i = 0; i < count; i++) {
    // Sizes from 0 to 1400 bytes, contents from the noise block: never a valid tunnel packet by design.
    const size = (i * 97) % 1401;
    const start = (i * 31) % (noise.length - size);
    await new Promise((resolve, reject) =>
      socket.send(noise.subarray(start, start + size), port, host, (err) => (err ? reject(err) : resolve())),
    );
  }
  socket.close();
  printJson({ sent: count });
}

const modes = {
  sink: () => sink(Number(args[0])),
  send: () => send(args[0], Number(args[1]), Number(args[2]), option('--rate-mbps', 0)),
  'whoami-server': () => whoamiServer(Number(args[0])),
  whoami: () => whoami(args[0], Number(args[1])),
  garbage: () => garbage(args[0], Number(args[1]), Number(args[2])),
};

if (!modes[mode]) {
  console.error(`traffic: unknown mode '${mode}'; use one of ${Object.keys(modes).join(', ')}`);
  process.exit(64);
}
Promise.resolve(modes[mode]()).catch((err) => {
  console.error(`traffic ${mode}: ${err.message}`);
  process.exit(1);
});
