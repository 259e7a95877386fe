import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetioError, NetioError } from './errors.js';
import type { TunOptions, UdpOptions } from './types.js';

/** The addon's raw classes; the typed wrappers in tun.ts, udp.ts and poller.ts are the public face. */
export interface NativeBatchHandle {
  readonly fd: number;
  attach(memory: Uint8Array, meta: Int32Array): void;
  close(): void;
}

/**
 * The per-packet calls, as functions bound to one native instance by bindHot() (no wrapper lookup per
 * call); each keeps the instance alive and throws NETIO_CLOSED after close().
 */
export interface HotTunCalls {
  read(first: number, count: number): number;
  write(first: number, count: number): number;
  writeInbound(first: number, count: number, mtu?: number): number;
  split(source: number, target: number, headroom: number): number;
  completeChecksums(first: number, count: number): number;
}

export interface HotUdpCalls {
  recv(first: number, count: number): number;
  send(first: number, count: number): number;
}

export interface NativeTun extends NativeBatchHandle {
  readonly name: string;
  readonly vnetHeader: boolean;
  readonly offloads: number;
  writeCoalesced(first: number, count: number): number;
  coalesceInto(first: number, count: number, target: number): number;
  setPersist(persist: boolean): void;
  bindHot(): HotTunCalls;
}

export interface NativeUdp extends NativeBatchHandle {
  readonly family: 4 | 6;
  readonly localPort: number;
  readonly gro: boolean;
  readonly gsoSupported: boolean;
  readonly steered: boolean;
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  bindHot(): HotUdpCalls;
}

export interface NativePoller {
  start(events: number): void;
  stop(): void;
  close(): void;
}

export interface NativeBinding {
  init(createError: typeof createNetioError): void;
  Tun: new (options: TunOptions) => NativeTun;
  Udp: new (options: UdpOptions) => NativeUdp;
  Poller: new (fd: number, callback: (events: number) => void) => NativePoller;
  MAX_BATCH: number;
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the addon is looked for, in order. */
export const addonPaths: readonly string[] = [
  path.join(packageDir, 'build', 'Release', 'netio.node'),
  path.join(packageDir, 'build', 'Debug', 'netio.node'),
];

let binding: NativeBinding | undefined;

/** The first existing addon file among `paths`; NETIO_NOT_BUILT listing every path tried otherwise. */
export function locateAddon(paths: readonly string[] = addonPaths): string {
  const found = paths.find((candidate) => existsSync(candidate));
  if (found) return found;
  throw new NetioError(
    'NETIO_NOT_BUILT',
    `NETIO_NOT_BUILT: the @felt/netio addon is not built; tried:\n${paths.map((p) => `  ${p}`).join('\n')}\n` +
      'build it with: pnpm --filter @felt/netio run build:native (or make build)',
  );
}

/** Loads the addon once per thread (each worker gets its own instance) and installs the error factory. */
export function loadNative(): NativeBinding {
  if (binding) return binding;
  const loaded = createRequire(import.meta.url)(locateAddon()) as NativeBinding;
  loaded.init(createNetioError);
  binding = loaded;
  return loaded;
}
