/** Messages between the Dataplane (main thread) and its worker. Rare events only, never per packet. */
import type { ForwarderSettings } from './forwarder-state.js';
import type { RouteTableLayout } from './route-table.js';

export interface WorkerInit {
  tunName: string;
  persistTun: boolean;
  backend: 'udp' | 'vxlan' | 'ipip';
  underlayAddress: string;
  settings: ForwarderSettings;
  layout: RouteTableLayout;
  routeMemory: SharedArrayBuffer;
  counterMemory: SharedArrayBuffer;
  poolMemory: SharedArrayBuffer;
  poolControl: SharedArrayBuffer;
  poolSlots: number;
  slotSize: number;
  /** Run the offload loops (offload/forwarder.ts) when the kernel accepts TUN offloads. */
  offloads: boolean;
  /**
   * One of several workers: open the TUN with IFF_MULTI_QUEUE (this worker's queue) and the socket
   * with SO_REUSEPORT. False with a single worker, which opens both exactly as before.
   */
  multiQueue: boolean;
  /**
   * With multiQueue: how many workers share the underlay port. Their SO_REUSEPORT group then picks the
   * worker of a datagram by its inner flow (netio reusePortSteering), not by the outer addresses and
   * ports, which are the same for everything from one felt peer. Set by startInWorkers.
   */
  reusePortGroup?: number;
}

export type ToWorker = { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; tunName: string }
  | { type: 'start_failed'; code: string; message: string }
  | { type: 'fatal'; code: string; message: string }
  | { type: 'stopped' };
