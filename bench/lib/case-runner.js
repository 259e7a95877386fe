/**
 * Runs one end-to-end case in its own lab: hosts, the case's tunnel, readiness, then the measurements.
 * A case that cannot be set up or never carries traffic ends as "not run" with the reason; one that
 * breaks while measuring ends as "failed" with whatever it measured before. The lab is always disposed.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Lab } from './lab.js';
import { pingRun, startIperfServer, tcpRun, udpRun, waitForOverlay } from './measure.js';
import { summarize } from './stats.js';
import { createTwoHosts } from './topology.js';

const OVERLAY_READY_TIMEOUT_MS = 30_000;

function onPath(bin) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Last lines of every process the case started, for the JSON record of a failure. */
function diagnostics(processes) {
  return Object.fromEntries(
    processes.map((p) => [p.label, p.output().trim().split('\n').slice(-15).join('\n')]),
  );
}

function assertAllRunning(processes) {
  for (const p of processes) p.assertRunning();
}

const sumOrNull = (values) => (values.some((v) => v === null) ? null : values.reduce((s, v) => s + v, 0));

export async function runCase(def, plan, log) {
  const result = { id: def.id, label: def.label, group: def.group, status: 'not run', reason: null };
  const missing = def.requires.filter((bin) => !onPath(bin));
  if (missing.length > 0) {
    result.reason = `${missing.join(', ')} not installed (make bench installs it)`;
    return result;
  }
  const lab = new Lab(def.id);
  let setup = { processes: [] };
  try {
    let hosts;
    try {
      log(`${def.id}: setting up`);
      hosts = await createTwoHosts(lab);
      setup = await def.setup(lab, hosts, plan);
      const check = () => assertAllRunning(setup.processes);
      await startIperfServer(lab, hosts);
      await waitForOverlay(lab, hosts, OVERLAY_READY_TIMEOUT_MS, check);
    } catch (err) {
      result.reason = err.message;
      result.diagnostics = diagnostics(lab.processes);
      return result;
    }
    result.pods = { a: hosts.a.pod, b: hosts.b.pod };
    result.status = 'failed';
    const pids = setup.processes.map((p) => p.pid);
    try {
      log(`${def.id}: TCP warm-up ${plan.warmupSeconds} s`);
      await tcpRun(lab, hosts, plan.warmupSeconds, pids);
      const tcpRuns = [];
      for (let rep = 1; rep <= plan.reps; rep++) {
        log(`${def.id}: TCP ${rep}/${plan.reps} (${plan.seconds} s)`);
        const r = await tcpRun(lab, hosts, plan.seconds, pids);
        log(`${def.id}:   ${r.gbps.toFixed(2)} Gbit/s, ${r.retransmits} retransmits`);
        tcpRuns.push(r);
      }
      result.tcp = { runs: tcpRuns, gbps: summarize(tcpRuns.map((r) => r.gbps)) };
      result.cpu = summarizeCpu(tcpRuns, pids.length > 0);
      const udpRuns = [];
      for (let rep = 1; rep <= plan.reps; rep++) {
        log(`${def.id}: UDP 64 B ${rep}/${plan.reps} (${plan.seconds} s)`);
        const r = await udpRun(lab, hosts, plan.seconds, pids);
        log(`${def.id}:   ${(r.pps / 1000).toFixed(1)} kpps received, ${r.lossPercent?.toFixed(1)} % lost`);
        udpRuns.push(r);
      }
      result.udp = {
        runs: udpRuns,
        pps: summarize(udpRuns.map((r) => r.pps)),
        lossPercent: summarize(udpRuns.map((r) => r.lossPercent ?? 0)),
      };
      log(`${def.id}: ping ×${plan.pings}`);
      result.latency = await pingRun(lab, hosts, plan.pings);
      assertAllRunning(setup.processes);
      result.status = 'ok';
    } catch (err) {
      result.reason = err.message;
      result.diagnostics = diagnostics(lab.processes);
    }
    if (setup.collect) result.metrics = await setup.collect().catch((err) => ({ error: err.message }));
    return result;
  } finally {
    await lab.dispose();
  }
}

/** Tunnel processes' CPU during the TCP runs: cores used (A+B) and cores per Gbit/s, medians over runs. */
function summarizeCpu(tcpRuns, hasProcesses) {
  const machine = summarize(tcpRuns.map((r) => r.cpu.machineBusyCores));
  if (!hasProcesses)
    return { tunnelCores: null, coresPerGbps: null, perProcessCores: null, machineBusyCores: machine };
  const perRun = tcpRuns.map((r) => sumOrNull(r.cpu.perProcessCores));
  if (perRun.some((v) => v === null))
    return { tunnelCores: null, coresPerGbps: null, machineBusyCores: machine };
  return {
    tunnelCores: summarize(perRun),
    perProcessCores: tcpRuns[0].cpu.perProcessCores.map((_, i) =>
      summarize(tcpRuns.map((r) => r.cpu.perProcessCores[i])),
    ),
    coresPerGbps: summarize(tcpRuns.map((r, i) => perRun[i] / r.gbps)),
    machineBusyCores: machine,
  };
}
