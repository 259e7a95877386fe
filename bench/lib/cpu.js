/**
 * CPU time from procfs: per process (utime+stime of the whole thread group, /proc/<pid>/stat) and for
 * the whole machine (/proc/stat), sampled around a measurement.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** Seconds of CPU used so far by `pid` (all its threads), or null when it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state = field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine. */
function machineJiffies() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
  return { busy: total - idle, total };
}

/** `pid` and every process below it (a daemon may fork helpers), from /proc/<pid>/task/<tid>/children. */
function processTree(pid, depth = 0) {
  const tree = [pid];
  if (depth > 8) return tree;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean);
      for (const child of children) tree.push(...processTree(Number(child), depth + 1));
    }
  } catch {
    // gone meanwhile
  }
  return tree;
}

/** CPU seconds of a process tree fixed at sample start; null once its root is gone. */
function treeCpuSeconds(tree) {
  const root = processCpuSeconds(tree[0]);
  if (root === null) return null;
  return tree.slice(1).reduce((sum, pid) => sum + (processCpuSeconds(pid) ?? 0), root);
}

/** Starts a sample over `pids` (each with its children); `end()` returns cores used per pid and machine-wide. */
export function startCpuSample(pids) {
  const trees = pids.map((pid) => processTree(pid));
  const t0 = process.hrtime.bigint();
  const before = trees.map(treeCpuSeconds);
  const m0 = machineJiffies();
  return {
    end() {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const after = trees.map(treeCpuSeconds);
      const m1 = machineJiffies();
      const perProcess = before.map((b, i) =>
        b === null || after[i] === null ? null : (after[i] - b) / seconds,
      );
      const cores = m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * machineCores() : 0;
      return { seconds, perProcessCores: perProcess, machineBusyCores: cores };
    },
  };
}

let cores;
function machineCores() {
  cores ??= readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l)).length;
  return cores;
}
