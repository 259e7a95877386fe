/**
 * Ratios to the baselines measured in the same run, and the targets the issues set for felt:
 * best felt backend ≥ best C tunnel (TCP and 64 B pps); with offloads, felt vxlan ≥ 50 % of kernel vxlan
 * TCP, ≥ 5× the best C tunnel, and ≥ 80 % of kernel vxlan pps.
 */
const tcpOf = (c) => (c?.status === 'ok' ? c.tcp.gbps.median : null);
const ppsOf = (c) => (c?.status === 'ok' ? c.udp.pps.median : null);
const ratio = (x, y) => (x === null || y === null || y === 0 ? null : x / y);

export function addRatios(cases) {
  const bare = cases.find((c) => c.id === 'bare');
  const kernel = cases.find((c) => c.id === 'kernel-vxlan');
  for (const c of cases) {
    if (c.status !== 'ok') continue;
    c.ratios = {
      tcpToBare: ratio(tcpOf(c), tcpOf(bare)),
      tcpToKernelVxlan: ratio(tcpOf(c), tcpOf(kernel)),
      ppsToBare: ratio(ppsOf(c), ppsOf(bare)),
      ppsToKernelVxlan: ratio(ppsOf(c), ppsOf(kernel)),
    };
  }
}

function best(cases, group, metric) {
  return cases
    .filter((c) => c.group === group && metric(c) !== null)
    .reduce((top, c) => (top === null || metric(c) > metric(top) ? c : top), null);
}

/** Each target: what it asks, the measured ratio, and whether it is met (null when not measurable). */
export function evaluateTargets(cases) {
  const kernel = cases.find((c) => c.id === 'kernel-vxlan');
  const feltVxlan = cases.find((c) => c.id === 'felt-vxlan');
  const bestCTcp = best(cases, 'c', tcpOf);
  const bestCPps = best(cases, 'c', ppsOf);
  const bestFeltTcp = best(cases, 'felt', tcpOf);
  const bestFeltPps = best(cases, 'felt', ppsOf);
  const target = (goal, numerator, denominator, value, threshold) => ({
    goal,
    compared: numerator && denominator ? `${numerator.id} / ${denominator.id}` : null,
    ratio: value,
    threshold,
    met: value === null ? null : value >= threshold,
  });
  return [
    target(
      'best felt TCP ≥ best C tunnel TCP (batching)',
      bestFeltTcp,
      bestCTcp,
      ratio(tcpOf(bestFeltTcp), tcpOf(bestCTcp)),
      1,
    ),
    target(
      'best felt 64 B pps ≥ best C tunnel pps (batching)',
      bestFeltPps,
      bestCPps,
      ratio(ppsOf(bestFeltPps), ppsOf(bestCPps)),
      1,
    ),
    target(
      'felt vxlan TCP ≥ 50 % of kernel vxlan (offloads)',
      feltVxlan,
      kernel,
      ratio(tcpOf(feltVxlan), tcpOf(kernel)),
      0.5,
    ),
    target(
      'felt vxlan TCP ≥ 5× best C tunnel (offloads)',
      feltVxlan,
      bestCTcp,
      ratio(tcpOf(feltVxlan), tcpOf(bestCTcp)),
      5,
    ),
    target(
      'felt vxlan 64 B pps ≥ 80 % of kernel vxlan (offloads)',
      feltVxlan,
      kernel,
      ratio(ppsOf(feltVxlan), ppsOf(kernel)),
      0.8,
    ),
  ];
}
