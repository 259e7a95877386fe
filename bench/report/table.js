/** The markdown report: end-to-end table, targets, micro-benchmarks and the machine it ran on. */
import { machineSummary } from '../lib/machine.js';
import { microSection } from './micro.js';

const fixed = (x, digits) => (x === null || x === undefined ? '–' : x.toFixed(digits));
const times = (x) =>
  x === null || x === undefined ? '–' : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;

function e2eRow(c) {
  if (c.status !== 'ok' && !c.tcp) {
    const reason = (c.reason ?? 'unknown').split('\n')[0].replace(/\|/g, '/').slice(0, 160);
    return `| ${c.label} | ${c.status}: ${reason} | | | | | | | |`;
  }
  const t = c.tcp.gbps;
  const tcp = `${fixed(t.median, 2)} (${fixed(t.min, 2)}–${fixed(t.max, 2)})`;
  const udp = c.udp ? `${fixed(c.udp.pps.median / 1000, 1)} (${fixed(c.udp.lossPercent.median, 0)} %)` : '–';
  const rtt = c.latency ? `${Math.round(c.latency.p50Us)} / ${Math.round(c.latency.p99Us)}` : '–';
  const cpu = c.cpu?.tunnelCores ? fixed(c.cpu.tunnelCores.median, 2) : '–';
  const perGbps = c.cpu?.coresPerGbps ? fixed(c.cpu.coresPerGbps.median, 2) : '–';
  const r = c.ratios ?? {};
  const label = c.status === 'ok' ? c.label : `${c.label} (failed: ${(c.reason ?? '').slice(0, 80)})`;
  return `| ${label} | ${tcp} | ${times(r.tcpToBare)} | ${times(r.tcpToKernelVxlan)} | ${udp} | ${times(r.ppsToKernelVxlan)} | ${rtt} | ${cpu} | ${perGbps} |`;
}

export function e2eTable(cases, plan) {
  return [
    `| case | TCP Gbit/s, median (min–max of ${plan.rounds}) | TCP × bare | TCP × kernel vxlan | UDP 64 B kpps received (loss) | pps × kernel vxlan | RTT p50 / p99 µs | tunnel CPU, cores (A+B) | cores per Gbit/s |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...cases.map(e2eRow),
  ].join('\n');
}

export function targetsList(targets) {
  return targets
    .map((t) => {
      const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'not met';
      const value = t.ratio === null ? '' : `: ${t.ratio.toFixed(2)}× (${t.compared})`;
      return `- ${t.goal}${value} — **${verdict}**`;
    })
    .join('\n');
}

export function markdownReport(report) {
  const { plan, machine, cases, targets, micro } = report;
  return [
    `## felt end-to-end benchmark, ${report.date}`,
    '',
    `${machineSummary(machine)}; node ${machine.versions.node}, iperf3 ${machine.versions.iperf3?.split(' ')[1] ?? '?'}.`,
    `Two network namespaces on a veth pair (MTU 1500), pod /32s on loopback; TCP: iperf3 -C cubic, 1 stream, ${plan.seconds} s × ${plan.rounds}; UDP: iperf3 -u -l 64 -b 0, ${plan.seconds} s × ${plan.rounds}; RTT: ${plan.pings} pings at 10 ms; cases interleaved round by round, each in fresh namespaces.${plan.quick ? ' **Quick mode: indicative only.**' : ''}`,
    '',
    e2eTable(cases, plan),
    '',
    ...(cases.some((c) => c.group === 'felt') ? ['### Targets', '', targetsList(targets), ''] : []),
    ...(micro ? ['', '### Micro-benchmarks', '', microSection(micro)] : []),
    '',
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}
