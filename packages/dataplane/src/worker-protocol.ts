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
   * How many workers share the TUN and the underlay port. Above 1 each opens the TUN with IFF_MULTI_QUEUE
   * (its own queue) and the socket with SO_REUSEPORT, and the group picks the worker of a datagram by its
   * inner flow (netio reusePortSteering), not by the outer addresses and ports, which are the same for
   * everything from one felt peer. A single worker opens both exactly as before.
   */
  workers: number;
}

export type ToWorker = { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; tunName: string }
  | { type: 'start_failed'; code: string; message: string }
  | { type: 'fatal'; code: string; message: string }
  | { type: 'stopped' };
