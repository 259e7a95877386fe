// The daemon's HTTP listeners (node:http only): /metrics on --metrics-addr, /healthz, /livez and
// /readyz on --healthz-ip:--healthz-port. The metrics listener also answers the health paths, so a
// node with the health port off (Flannel's default) can still be probed; one listener serves
// everything when both addresses match.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReadinessReport } from '../state.js';
import { HttpError } from './errors.js';
import { EventLoopWatch, type EventLoopWatchOptions } from './event-loop.js';
import {
  type HealthResponse,
  type LivenessCheck,
  livenessResponse,
  readinessResponse,
  readinessUnknown,
} from './health.js';

/** What /metrics serves; a prom-client Registry fits. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface HttpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface HttpServersOptions {
  /** --metrics-addr; null = no metrics listener. Port 0 picks a free port. */
  metricsAddr: { host: string; port: number } | null;
  /** --healthz-ip */
  healthzIp: string;
  /** --healthz-port; 0 = no health listener. */
  healthzPort: number;
  readiness: () => ReadinessReport;
  metrics: MetricsSource;
  /** Extra liveness checks (e.g. the data-plane worker is running); never etcd. */
  liveness?: () => readonly LivenessCheck[];
  eventLoop?: EventLoopWatchOptions;
  logger: HttpLogger;
}

export interface HttpServers {
  /** Bound address of the metrics listener (null when off). */
  readonly metricsAddress: AddressInfo | null;
  /** Bound address of the health listener (null when off; equal to metricsAddress when shared). */
  readonly healthzAddress: AddressInfo | null;
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, url: URL, res: ServerResponse) => void | Promise<void>;

const PLAIN_TEXT = 'text/plain; charset=utf-8';

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendHealth(req: IncomingMessage, res: ServerResponse, response: HealthResponse): void {
  send(req, res, response.status, PLAIN_TEXT, response.body);
}

function healthRoutes(options: HttpServersOptions, eventLoop: EventLoopWatch): Record<string, Route> {
  const live: Route = (req, url, res) => {
    const loop = eventLoop.status();
    const checks: LivenessCheck[] = [
      {
        name: 'event-loop',
        ok: loop.ok,
        detail: loop.ok ? `lag ${loop.lagMs} ms` : `stalled ${loop.stallMs} ms`,
      },
    ];
    try {
      checks.push(...(options.liveness?.() ?? []));
    } catch (error) {
      checks.push({ name: 'liveness-checks', ok: false, detail: (error as Error).message });
    }
    sendHealth(req, res, livenessResponse(checks, url.searchParams.has('verbose')));
  };
  const ready: Route = (req, url, res) => {
    let response: HealthResponse;
    try {
      response = readinessResponse(options.readiness(), url.searchParams.has('verbose'));
    } catch (error) {
      response = readinessUnknown(error);
    }
    sendHealth(req, res, response);
  };
  return { '/healthz': live, '/livez': live, '/readyz': ready };
}

function metricsRoute(options: HttpServersOptions): Route {
  return async (req, _url, res) => {
    try {
      const text = await options.metrics.metrics();
      send(req, res, 200, options.metrics.contentType, text);
    } catch (error) {
      options.logger.warn({ err: error }, 'metrics scrape failed');
      send(req, res, 500, PLAIN_TEXT, `scrape failed: ${(error as Error).message}\n`);
    }
  };
}

function handler(routes: Record<string, Route>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
    if (route === undefined)
      return send(req, res, 404, PLAIN_TEXT, `not found; try ${Object.keys(routes).join(' ')}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(req, res, 405, PLAIN_TEXT, 'method not allowed\n');
    }
    Promise.resolve(route(req, url, res)).catch(() => {
      if (!res.headersSent) send(req, res, 500, PLAIN_TEXT, 'internal error\n');
      else res.destroy();
    });
  };
}

function listen(server: Server, host: string, port: number, flag: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new HttpError(
          'HTTP_LISTEN_FAILED',
          flag,
          `cannot listen on ${host}:${port} (${error.code ?? error.message}); change ${flag}`,
          {
            cause: error,
          },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function newServer(routes: Record<string, Route>): Server {
  const server = createServer(handler(routes));
  // Probes and scrapes are tiny: do not let slow clients hold sockets.
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startHttpServers(options: HttpServersOptions): Promise<HttpServers> {
  const eventLoop = new EventLoopWatch(options.eventLoop);
  const servers: Server[] = [];
  const closeAll = async () => {
    eventLoop.stop();
    await Promise.all(servers.map(closeServer));
  };

  const metrics = options.metricsAddr;
  const healthOn = options.healthzPort !== 0;
  const shared =
    metrics !== null &&
    healthOn &&
    metrics.host === options.healthzIp &&
    metrics.port === options.healthzPort;
  let metricsAddress: AddressInfo | null = null;
  let healthzAddress: AddressInfo | null = null;

  try {
    if (healthOn || metrics !== null) eventLoop.start();
    if (metrics !== null) {
      const routes = { '/metrics': metricsRoute(options), ...healthRoutes(options, eventLoop) };
      const server = newServer(routes);
      servers.push(server);
      metricsAddress = await listen(server, metrics.host, metrics.port, '--metrics-addr');
      options.logger.info({ address: metricsAddress, health: shared }, 'serving /metrics');
      if (shared) healthzAddress = metricsAddress;
    }
    if (healthOn && !shared) {
      const server = newServer(healthRoutes(options, eventLoop));
      servers.push(server);
      healthzAddress = await listen(
        server,
        options.healthzIp,
        options.healthzPort,
        '--healthz-ip/--healthz-port',
      );
      options.logger.info({ address: healthzAddress }, 'serving /healthz /livez /readyz');
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  return { metricsAddress, healthzAddress, close: closeAll };
}
