/**
 * Dataplane: the main-thread handle of the forwarder. `start` validates the configuration, allocates
 * the shared memory (route table; per worker a packet pool and counters) and starts the worker(s) that
 * own the TUN device (one queue each) and the socket (ipip: on the main thread, see forwarder-host.ts).
 * Peers are programmed into the shared route table directly (no messages per change reach the
 * workers); `snapshot` reads and sums the workers' counters.
 */
import { EventEmitter } from 'node:events';
import {
  type DataplaneConfig,
  DataplaneError,
  type DataplaneLogger,
  type DataplaneOptions,
  type DataplaneSnapshot,
  DROP_REASONS,
  type DropReason,
  type PeerSpec,
} from './api.js';
import { type ResolvedConfig, resolveConfig } from './config.js';
import { MAX_EXTRA_ROUTES } from './constants.js';
import {
  INNER_CHECKSUMS_COMPLETED,
  OFFLOAD_ACTIVE,
  OFFLOAD_GRO_DATAGRAMS,
  OFFLOAD_GRO_SEGMENTS,
  OFFLOAD_GSO_FALLBACKS,
  OFFLOAD_GSO_SEGMENTS,
  OFFLOAD_GSO_SENDS,
  OFFLOAD_SUPER_PACKETS,
  OFFLOAD_SUPER_SEGMENTS,
  OFFLOAD_TUN_MERGED_PACKETS,
  OFFLOAD_TUN_WRITES,
  OP_DECAP,
  OP_ENCAP,
  PEER_LAST_RECEIVE,
  PEER_RX_BYTES,
  PEER_RX_PACKETS,
  PEER_TX_BYTES,
  PEER_TX_PACKETS,
} from './counters.js';
import { DIRECTION_RX, DIRECTION_TX } from './drops.js';
import { type ForwarderHost, startInline, startInWorkers } from './forwarder-host.js';
import { formatCidr } from './ipv4.js';
import { PeerDirectory } from './peer-directory.js';
import { BufferPool } from './pool.js';
import { type PeerRecord, RouteTableWriter } from './route-table-writer.js';
import { WorkerCounters } from './worker-counters.js';
import type { WorkerInit } from './worker-protocol.js';

const silentLogger: DataplaneLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Events: 'fatal' (DataplaneError DATAPLANE_FATAL) when forwarding stopped by itself, e.g. TUN deleted. */
export class Dataplane extends EventEmitter<{ fatal: [DataplaneError] }> {
  private readonly resolved: ResolvedConfig;
  private host: ForwarderHost | undefined;
  private readonly logger: DataplaneLogger;
  private readonly routes: RouteTableWriter;
  private readonly counters: WorkerCounters;
  private readonly pools: BufferPool[];
  private readonly peers: PeerDirectory;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** Why forwarding stopped by itself, if it did (also before create() returned). */
  private failure: DataplaneError | undefined;

  private constructor(
    resolved: ResolvedConfig,
    shared: { routes: RouteTableWriter; counters: WorkerCounters; pools: BufferPool[] },
    logger: DataplaneLogger,
  ) {
    super();
    this.resolved = resolved;
    this.routes = shared.routes;
    this.counters = shared.counters;
    this.pools = shared.pools;
    this.logger = logger;
    const c = resolved.config;
    this.peers = new PeerDirectory(c.backend, resolved.maxPeers, resolved.settings.port, resolved.subnet);
  }

  /** The TUN interface name the kernel gave (the configured one, unless it had a %d pattern). */
  get tunName(): string {
    return this.host?.tunName ?? this.resolved.config.tunName;
  }

  /**
   * Validates the configuration, opens the TUN device and the underlay socket in a new worker and
   * starts forwarding. Rejects with DataplaneError (DATAPLANE_BAD_CONFIG, DATAPLANE_START_FAILED).
   */
  static async start(config: DataplaneConfig, options: DataplaneOptions = {}): Promise<Dataplane> {
    const resolved = resolveConfig(config);
    const logger = options.logger ?? silentLogger;
    const routeMemory = new SharedArrayBuffer(resolved.layout.words * 4);
    const counters = new WorkerCounters(resolved.workers, resolved.maxPeers);
    const pools = counters.memories.map(
      () => new BufferPool({ slots: resolved.poolSlots, slotSize: resolved.slotSize }),
    );
    const inits: WorkerInit[] = pools.map((pool, index) => ({
      tunName: config.tunName,
      persistTun: config.persistTun,
      backend: config.backend,
      underlayAddress: config.underlayAddress,
      settings: resolved.settings,
      layout: resolved.layout,
      routeMemory,
      counterMemory: counters.memories[index],
      poolMemory: pool.memory.buffer as SharedArrayBuffer,
      poolControl: pool.control.buffer as SharedArrayBuffer,
      poolSlots: resolved.poolSlots,
      slotSize: resolved.slotSize,
      offloads: resolved.offloads,
      workers: resolved.workers,
    }));
    const dataplane = new Dataplane(
      resolved,
      { routes: new RouteTableWriter(routeMemory, resolved.layout), counters, pools },
      logger,
    );
    const onFatal = (code: string, message: string): void => dataplane.fail(code, message);
    dataplane.host =
      config.backend === 'ipip' ? startInline(inits[0], onFatal) : await startInWorkers(inits, onFatal);
    if (dataplane.failure) {
      // A worker failed while the others were still starting: nobody could listen for 'fatal' yet, and
      // fail() found no host to stop.
      await dataplane.host.stop();
      throw dataplane.failure;
    }
    logger.info(
      {
        backend: config.backend,
        tun: dataplane.tunName,
        subnet: config.subnet,
        network: config.network,
        workers: resolved.workers,
      },
      'data plane started',
    );
    return dataplane;
  }

  /** Adds or updates a peer (keyed by its subnet). Throws DATAPLANE_BAD_PEER / DATAPLANE_TOO_MANY_PEERS. */
  upsertPeer(spec: PeerSpec): void {
    this.assertRunning();
    const { key, record } = this.peers.validate(spec);
    if (!this.peers.get(key) && !this.routes.fits(record.subnet)) {
      throw new DataplaneError('DATAPLANE_TOO_MANY_PEERS', `no room for another route like ${key}`);
    }
    const { entry, fresh } = this.peers.upsert(spec, key, record);
    if (fresh) this.counters.resetPeer(entry.index);
    this.routes.apply([[entry.index, record]], []);
  }

  /** Removes the peer with this subnet (no-op when unknown). */
  removePeer(subnet: string): void {
    this.assertRunning();
    const entry = this.peers.get(subnet);
    if (!entry) return;
    const index = this.peers.remove(formatCidr(entry.record.subnet));
    this.routes.apply([], [index]);
  }

  /**
   * Replaces the whole peer set in one route-table update (peers not listed are removed). Validates
   * every spec first: on an error nothing changes.
   */
  setPeers(all: PeerSpec[]): void {
    this.assertRunning();
    const wanted = new Map<string, { spec: PeerSpec; record: PeerRecord }>();
    for (const spec of all) {
      const { key, record } = this.peers.validate(spec);
      wanted.set(key, { spec, record });
    }
    if (wanted.size > this.resolved.maxPeers) {
      throw new DataplaneError(
        'DATAPLANE_TOO_MANY_PEERS',
        `more than maxPeers=${this.resolved.maxPeers} peers`,
      );
    }
    const extras = [...wanted.values()].filter(({ record }) => !this.routes.isDirect(record.subnet)).length;
    if (extras > MAX_EXTRA_ROUTES) {
      throw new DataplaneError(
        'DATAPLANE_TOO_MANY_PEERS',
        `more than ${MAX_EXTRA_ROUTES} peers with odd subnets`,
      );
    }
    const removals: number[] = [];
    for (const entry of [...this.peers.entries()]) {
      const key = formatCidr(entry.record.subnet);
      if (!wanted.has(key)) removals.push(this.peers.remove(key));
    }
    const upserts: Array<[number, PeerRecord]> = [];
    for (const [key, { spec, record }] of wanted) {
      const { entry, fresh } = this.peers.upsert(spec, key, record);
      if (fresh) this.counters.resetPeer(entry.index);
      upserts.push([entry.index, record]);
    }
    this.routes.apply(upserts, removals);
  }

  /** Copies the shared counters (cheap; meant for every metrics scrape). */
  snapshot(): DataplaneSnapshot {
    const c = this.counters;
    const drops = {} as DataplaneSnapshot['drops'];
    DROP_REASONS.forEach((reason: DropReason, index) => {
      drops[reason] = { tx: c.drop(index, DIRECTION_TX), rx: c.drop(index, DIRECTION_RX) };
    });
    const peers = [...this.peers.entries()].map((entry) => ({
      subnet: formatCidr(entry.record.subnet),
      publicIp: entry.spec.publicIp,
      txPackets: c.peer(entry.index, PEER_TX_PACKETS),
      txBytes: c.peer(entry.index, PEER_TX_BYTES),
      rxPackets: c.peer(entry.index, PEER_RX_PACKETS),
      rxBytes: c.peer(entry.index, PEER_RX_BYTES),
      lastReceiveSeconds: c.peer(entry.index, PEER_LAST_RECEIVE),
    }));
    return {
      backend: this.resolved.config.backend,
      tunName: this.tunName,
      tunMtu: this.resolved.settings.tunMtu,
      peers,
      drops,
      underlayBytes: { tx: c.underlay(DIRECTION_TX), rx: c.underlay(DIRECTION_RX) },
      pool: {
        free: this.pools.reduce((total, pool) => total + pool.free, 0),
        inUse: this.pools.reduce((total, pool) => total + pool.inUse, 0),
      },
      batches: {
        encap: { size: c.histogram(OP_ENCAP, 'size'), durationSeconds: c.histogram(OP_ENCAP, 'duration') },
        decap: { size: c.histogram(OP_DECAP, 'size'), durationSeconds: c.histogram(OP_DECAP, 'duration') },
      },
      offloads: {
        active: c.offload(OFFLOAD_ACTIVE) === 1,
        superPackets: c.offload(OFFLOAD_SUPER_PACKETS),
        superPacketSegments: c.offload(OFFLOAD_SUPER_SEGMENTS),
        gsoSends: c.offload(OFFLOAD_GSO_SENDS),
        gsoSegments: c.offload(OFFLOAD_GSO_SEGMENTS),
        gsoFallbacks: c.offload(OFFLOAD_GSO_FALLBACKS),
        groDatagrams: c.offload(OFFLOAD_GRO_DATAGRAMS),
        groSegments: c.offload(OFFLOAD_GRO_SEGMENTS),
        tunWrites: c.offload(OFFLOAD_TUN_WRITES),
        tunMergedPackets: c.offload(OFFLOAD_TUN_MERGED_PACKETS),
      },
      innerChecksumsCompleted: c.offload(INNER_CHECKSUMS_COMPLETED),
      workers: c.perWorker(),
    };
  }

  /** Stops forwarding and closes the device (kept when persistTun) and the socket. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopped = true;
      this.stopping = (this.host?.stop() ?? Promise.resolve()).then(() =>
        this.logger.info({ tun: this.tunName }, 'data plane stopped'),
      );
    }
    return this.stopping;
  }

  private assertRunning(): void {
    if (this.stopped) throw new DataplaneError('DATAPLANE_STOPPED', 'the data plane was stopped');
  }

  private fail(code: string, message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping = this.host?.stop() ?? Promise.resolve();
    const err = new DataplaneError('DATAPLANE_FATAL', `data plane stopped: ${code}: ${message}`, {
      cause: { code },
    });
    this.failure = err;
    this.logger.error({ code, message }, 'data plane failed');
    this.emit('fatal', err);
  }
}
