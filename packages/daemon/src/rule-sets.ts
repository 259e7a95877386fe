// Which iptables rule sets this node wants, and which ones a previous run left that must go.
import type { DaemonConfig } from './config/flags.js';
import { forwardRules, type IptablesRule, masqRules } from './iptables/rules.js';
import { formatCidr, parseCidr } from './ipv4.js';
import type { PreviousSubnetEnv } from './subnet-env.js';

export interface RuleSet {
  name: 'masq' | 'forward';
  rules: IptablesRule[];
}

export function wantedRuleSets(
  config: Pick<DaemonConfig, 'ipMasq' | 'iptablesForwardRules'>,
  network: string,
  subnet: string,
  randomFully: boolean,
): RuleSet[] {
  const sets: RuleSet[] = [];
  if (config.ipMasq) sets.push({ name: 'masq', rules: masqRules(network, subnet, randomFully) });
  if (config.iptablesForwardRules) sets.push({ name: 'forward', rules: forwardRules(network) });
  return sets;
}

/**
 * Rules written for the network/subnet recorded in the previous subnet.env, when those differ from
 * now (Flannel deletes them so a changed lease leaves no stale RETURN/MASQUERADE rules), or when
 * masquerading was on then and is off now.
 */
export function staleRuleSets(
  previous: PreviousSubnetEnv | null,
  config: Pick<DaemonConfig, 'ipMasq' | 'iptablesForwardRules'>,
  network: string,
  subnet: string,
  randomFully: boolean,
): RuleSet[] {
  if (previous?.network == null || previous.subnet == null) return [];
  const previousSubnet = formatCidr(parseCidr(previous.subnet));
  const changed = previous.network !== network || previousSubnet !== subnet;
  const sets: RuleSet[] = [];
  const masqWasOn = previous.ipMasq !== false;
  if (masqWasOn && (changed || !config.ipMasq)) {
    sets.push({ name: 'masq', rules: masqRules(previous.network, previousSubnet, randomFully) });
  }
  if (changed && previous.network !== network) {
    sets.push({ name: 'forward', rules: forwardRules(previous.network) });
  }
  return sets;
}
