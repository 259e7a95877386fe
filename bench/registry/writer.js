#!/usr/bin/env node
/**
 * Child process of sync.js: writes leases [from, to) as Flannel-format JSON in transactions of 128 puts,
 * 4 transactions in flight. A separate process, so the watcher's CPU numbers exclude the writer.
 *
 *   node bench/registry/writer.js <endpoint> <from> <to>
 * etcd3 is @felt/registry's dependency, resolved from there (the bench package does not list it).
 */
import { createRequire } from 'node:module';
import { leaseKey, leaseValue } from './leases.js';

const { Etcd3 } = createRequire(import.meta.resolve('@felt/registry'))('etcd3');
const [endpoint, fromText, toText] = process.argv.slice(2);
const [from, to] = [Number(fromText), Number(toText)];
const TXN_OPS = 128; // etcd's default --max-txn-ops
const IN_FLIGHT = 4;

const client = new Etcd3({ hosts: [endpoint] });
try {
  const batches = [];
  for (let start = from; start < to; start += TXN_OPS) batches.push(start);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const start = batches[next++];
      const success = [];
      for (let i = start; i < Math.min(to, start + TXN_OPS); i++) {
        success.push({ request_put: { key: Buffer.from(leaseKey(i)), value: Buffer.from(leaseValue(i)) } });
      }
      await client.kv.txn({ compare: [], success, failure: [] });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
} finally {
  client.close();
}
