// How many data-plane workers to run: the --dataplane-workers count, or for 'auto' what measured
// fastest. On this project's 2-core bench machine one worker beat two (both nodes, the iperf ends and
// the kernel's softirq work share the same 2 cores: a second worker only adds contention); with more
// cores a second worker gets a core of its own. ipip forwards on the main thread: one worker only.
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
