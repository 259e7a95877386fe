// Flannel's masquerade and forward rules (pkg/trafficmngr/iptables), with felt's chain names and
// comments. Order matters: the RETURN rules must come before the MASQUERADE rules they exempt.

export interface IptablesRule {
  table: 'nat' | 'filter';
  /** 'insert' puts the rule at position 1 (the jump from the built-in chain runs before others). */
  action: 'insert' | 'append';
  chain: string;
  spec: string[];
}

export const MASQ_CHAIN = 'FELT-POSTRTG';
export const FORWARD_CHAIN = 'FELT-FWD';
export const MASQ_COMMENT = 'feltd masq';
export const FORWARD_COMMENT = 'feltd forward';
/** kube-proxy marks packets it will SNAT itself; masquerading them again breaks some kernels. */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const MULTICAST = '224.0.0.0/4';

const masqComment = ['-m', 'comment', '--comment', MASQ_COMMENT];
const forwardComment = ['-m', 'comment', '--comment', FORWARD_COMMENT];

/**
 * @param cluster the config Network, e.g. '10.5.0.0/16'
 * @param pod this node's lease subnet, e.g. '10.5.72.0/24'
 * @param randomFully whether iptables supports MASQUERADE --random-fully
 */
export function masqRules(cluster: string, pod: string, randomFully: boolean): IptablesRule[] {
  const masquerade = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  const rule = (spec: string[]): IptablesRule => ({
    table: 'nat',
    action: 'append',
    chain: MASQ_CHAIN,
    spec,
  });
  return [
    { table: 'nat', action: 'insert', chain: 'POSTROUTING', spec: [...masqComment, '-j', MASQ_CHAIN] },
    rule(['-m', 'mark', '--mark', KUBE_PROXY_MARK, ...masqComment, '-j', 'RETURN']),
    // Pod to pod, in either direction: never NAT inside the overlay.
    rule(['-s', pod, '-d', cluster, ...masqComment, '-j', 'RETURN']),
    rule(['-s', cluster, '-d', pod, ...masqComment, '-j', 'RETURN']),
    // External clients keep their source address towards local pods.
    rule(['!', '-s', cluster, '-d', pod, ...masqComment, '-j', 'RETURN']),
    // Pods leaving the overlay (but not multicast) take the node's address.
    rule(['-s', cluster, '!', '-d', MULTICAST, ...masqComment, ...masquerade]),
    // Host traffic to remote pods gets a source the remote side can route back.
    rule(['!', '-s', cluster, '-d', cluster, ...masqComment, ...masquerade]),
  ];
}

/** ACCEPT overlay traffic in FORWARD (Docker ≥ 1.13 sets the FORWARD policy to DROP). */
export function forwardRules(cluster: string): IptablesRule[] {
  const rule = (spec: string[]): IptablesRule => ({
    table: 'filter',
    action: 'append',
    chain: FORWARD_CHAIN,
    spec,
  });
  return [
    { table: 'filter', action: 'insert', chain: 'FORWARD', spec: [...forwardComment, '-j', FORWARD_CHAIN] },
    rule(['-s', cluster, ...forwardComment, '-j', 'ACCEPT']),
    rule(['-d', cluster, ...forwardComment, '-j', 'ACCEPT']),
  ];
}

/** The chains our rules jump to, by table (created before the rules are added). */
export function chainsOf(rules: readonly IptablesRule[]): { table: IptablesRule['table']; chain: string }[] {
  const seen = new Map<string, { table: IptablesRule['table']; chain: string }>();
  for (const rule of rules) {
    if (rule.chain === MASQ_CHAIN || rule.chain === FORWARD_CHAIN)
      seen.set(`${rule.table}/${rule.chain}`, rule);
  }
  return [...seen.values()].map(({ table, chain }) => ({ table, chain }));
}

/** The iptables argument list that adds a rule (always with -w: wait for the xtables lock). */
export function addArgs(rule: IptablesRule): string[] {
  const position = rule.action === 'insert' ? ['-I', rule.chain, '1'] : ['-A', rule.chain];
  return [...lockArgs(), '-t', rule.table, ...position, ...rule.spec];
}

export function checkArgs(rule: IptablesRule): string[] {
  return [...lockArgs(), '-t', rule.table, '-C', rule.chain, ...rule.spec];
}

export function deleteArgs(rule: IptablesRule): string[] {
  return [...lockArgs(), '-t', rule.table, '-D', rule.chain, ...rule.spec];
}

export function lockArgs(): string[] {
  return ['-w', '5'];
}
