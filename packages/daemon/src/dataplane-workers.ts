// How many data-plane workers to run: the --dataplane-workers count, or for 'auto' what measured
// fastest. On the 2-core bench machine two workers were no faster than one (3 rounds, ratios to
// kernel vxlan in the same run: TCP 0.59x with two, 0.60x with one; 64 B pps 0.84x vs 0.89x): a felt
// peer sends every datagram from its one port, so SO_REUSEPORT hands all of one peer's traffic to one
// worker and the TUN steers the replies to the same queue; the second worker idles while both nodes
// and the iperf ends already share the 2 cores. With more cores and many peers (or kernel vxlan
// peers, whose source port follows the inner flow) a second worker gets traffic and a core of its
// own: auto = 2 there, not measured on such a machine. ipip forwards on the main thread: 1 worker.
import { availableParallelism } from 'node:os';
import type { BackendType } from '@felt/dataplane';
import type { WorkerCount } from './config/values.js';

/** At or below this many cores, auto means one worker. */
export const AUTO_SINGLE_WORKER_MAX_CORES = 2;
/** What auto picks above that. */
export const AUTO_WORKERS_ON_LARGER_MACHINES = 2;

export interface WorkerChoice {
  workers: number;
  /** Why the count differs from the setting, for the log; null when it is the setting itself. */
  note: string | null;
}

export function chooseDataplaneWorkers(
  setting: WorkerCount,
  backend: BackendType,
  cores: number = availableParallelism(),
): WorkerChoice {
  if (backend === 'ipip') {
    return {
      workers: 1,
      note:
        setting === 'auto' || setting === 1
          ? null
          : 'the ipip backend runs one worker; ignoring --dataplane-workers',
    };
  }
  if (setting !== 'auto') return { workers: setting, note: null };
  const workers = cores <= AUTO_SINGLE_WORKER_MAX_CORES ? 1 : AUTO_WORKERS_ON_LARGER_MACHINES;
  return { workers, note: `auto: ${workers} for ${cores} cores` };
}
