/** The daemon's host interfaces (commands, /proc and /sys) pointed into a test's network namespace. */
import type { CommandRunner } from '../../packages/daemon/src/exec.js';
import type { ProcSys } from '../../packages/daemon/src/host/proc-sys.js';
import { sh } from '../harness/netns.js';

/** Runs commands inside `netns`; failures come back as results, as the daemon's runner does. */
export function commandsIn(netns: string): CommandRunner {
  return (command, args) => sh(command, [...args], { netns, allowFail: true });
}

/** /proc/sys and /sys/class/net are per namespace only for processes inside it: go through the namespace. */
export function procSysIn(netns: string): ProcSys {
  return {
    async read(path) {
      const result = await sh('cat', [path], { netns, allowFail: true });
      return result.code === 0 ? result.stdout.trim() : null;
    },
    async write(path, value) {
      await sh('tee', [path], { netns, input: `${value}\n` });
    },
  };
}
