/**
 * Runs the end-to-end cases in rounds: each round sets every case up in a fresh lab, measures one TCP
 * run, one UDP run and a share of the pings, and tears it down. Interleaving the cases this way spreads
 * the load of a shared machine over all of them instead of penalising whichever ran at a busy moment.
 *
 * A case that cannot be set up or never carries traffic is "not run" with the reason (and is not
 * retried in later rounds); one that breaks while measuring is "failed" and keeps what it measured.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Lab } from './lab.js';
import { pingRun, startIperfServer, tcpRun, udpRun, waitForOverlay } from './measure.js';
import { percentile, summarize } from './stats.js';
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

/** The accumulating record of one case over all rounds. */
export function newCaseRecord(def) {
  const record = { id: def.id, label: def.label, group: def.group, status: 'pending', reason: null };
  const missing = def.requires.filter((bin) => !onPath(bin));
  if (missing.length > 0) {
    record.status = 'not run';
    record.reason = `${missing.join(', ')} not installed (make bench installs it)`;
  }
  Object.assign(record, { tcpRuns: [], udpRuns: [], rtts: [], pingsSent: 0, hasProcesses: false });
  return record;
}

/** One round of `def`: set up, measure once, tear down; results accumulate in `record`. */
export async function runRound(def, record, plan, round, log) {
  if (record.status === 'not run' || record.status === 'failed') return;
  const tag = `${def.id} (round ${round}/${plan.rounds})`;
  const lab = new Lab(def.id);
  let setup = { processes: [] };
  try {
    let hosts;
    try {
      log(`${tag}: setting up`);
      hosts = await createTwoHosts(lab);
      setup = await def.setup(lab, hosts, plan);
      await startIperfServer(lab, hosts);
      await waitForOverlay(lab, hosts, OVERLAY_READY_TIMEOUT_MS, () => assertAllRunning(setup.processes));
    } catch (err) {
      // Not being able to start in a later round is a failure of a case that did run before.
      record.status = round === 1 ? 'not run' : 'failed';
      record.reason = err.message;
      record.diagnostics = diagnostics(lab.processes);
      return;
    }
    record.pods = { a: hosts.a.pod, b: hosts.b.pod };
    record.hasProcesses = setup.processes.length > 0;
    const pids = setup.processes.map((p) => p.pid);
    try {
      log(`${tag}: TCP warm-up ${plan.warmupSeconds} s`);
      await tcpRun(lab, hosts, plan.warmupSeconds, pids);
      log(`${tag}: TCP ${plan.seconds} s`);
      const tcp = await tcpRun(lab, hosts, plan.seconds, pids);
      record.tcpRuns.push(tcp);
      log(`${tag}:   ${tcp.gbps.toFixed(2)} Gbit/s, ${tcp.retransmits} retransmits`);
      log(`${tag}: UDP 64 B ${plan.seconds} s`);
      const udp = await udpRun(lab, hosts, plan.seconds, pids);
      record.udpRuns.push(udp);
      log(`${tag}:   ${(udp.pps / 1000).toFixed(1)} kpps received, ${udp.lossPercent?.toFixed(1)} % lost`);
      const pings = Math.ceil(plan.pings / plan.rounds);
      log(`${tag}: ping ×${pings}`);
      const ping = await pingRun(lab, hosts, pings);
      record.rtts.push(...ping.rtts);
      record.pingsSent += pings;
      assertAllRunning(setup.processes);
      record.status = 'ok';
    } catch (err) {
      record.status = 'failed';
      record.reason = err.message;
      record.diagnostics = diagnostics(lab.processes);
    }
    if (setup.collect) record.metrics = await setup.collect().catch((err) => ({ error: err.message }));
  } finally {
    await lab.dispose();
  }
}

/** Turns the accumulated runs into the published summary (medians, ranges, percentiles). */
export function finishCaseRecord(record) {
  const { tcpRuns, udpRuns, rtts, pingsSent, hasProcesses, ...result } = record;
  if (result.status === 'pending') result.status = 'not run';
  if (tcpRuns.length > 0) {
    result.tcp = { runs: tcpRuns, gbps: summarize(tcpRuns.map((r) => r.gbps)) };
    result.cpu = summarizeCpu(tcpRuns, hasProcesses);
  }
  if (udpRuns.length > 0) {
    result.udp = {
      runs: udpRuns,
      pps: summarize(udpRuns.map((r) => r.pps)),
      lossPercent: summarize(udpRuns.map((r) => r.lossPercent ?? 0)),
    };
  }
  if (rtts.length > 0) {
    result.latency = {
      p50Us: percentile(rtts, 50),
      p99Us: percentile(rtts, 99),
      replies: rtts.length,
      lossPercent: (100 * (pingsSent - rtts.length)) / pingsSent,
    };
  }
  return result;
}

const sumOrNull = (values) => (values.some((v) => v === null) ? null : values.reduce((s, v) => s + v, 0));

/** Tunnel processes' CPU during the TCP runs: cores used (A+B) and cores per Gbit/s, medians over runs. */
function summarizeCpu(tcpRuns, hasProcesses) {
  const machineBusyCores = summarize(tcpRuns.map((r) => r.cpu.machineBusyCores));
  const perRun = tcpRuns.map((r) => sumOrNull(r.cpu.perProcessCores));
  if (!hasProcesses || perRun.some((v) => v === null)) {
    return { tunnelCores: null, coresPerGbps: null, machineBusyCores };
  }
  return {
    tunnelCores: summarize(perRun),
    perProcessCores: tcpRuns[0].cpu.perProcessCores.map((_, i) =>
      summarize(tcpRuns.map((r) => r.cpu.perProcessCores[i])),
    ),
    coresPerGbps: summarize(tcpRuns.map((r, i) => perRun[i] / r.gbps)),
    machineBusyCores,
  };
}
