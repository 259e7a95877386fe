// A loopback TCP proxy in front of etcd that a test can freeze (stop forwarding etcd → client) and cut
// (reset every connection), to put a watcher behind etcd's history deterministically.
import { createServer, type Server, type Socket } from 'node:net';

export interface FreezableProxy {
  endpoint: string;
  freeze(): void;
  /** Resets every proxied connection and forwards new ones normally again. */
  cutAndThaw(): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<FreezableProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    cutAndThaw: () => {
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
      frozen = false;
    },
    close: async () => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
