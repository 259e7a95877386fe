// Installs rule sets and keeps them in place. Like Flannel: if any rule of a set is missing, the
// whole set is deleted and added again in order, so the RETURN-before-MASQUERADE order holds.
import { DaemonError } from '../errors.js';
import type { CommandRunner, Logger } from '../exec.js';
import { addArgs, chainsOf, checkArgs, deleteArgs, type IptablesRule, lockArgs } from './rules.js';

/** How many duplicate copies of one rule a delete pass removes at most. */
const MAX_DUPLICATES = 16;

export class IptablesManager {
  readonly #run: CommandRunner;
  readonly #binary: string;
  readonly #logger: Logger;

  constructor(options: { run: CommandRunner; logger: Logger; binary?: string }) {
    this.#run = options.run;
    this.#logger = options.logger;
    this.#binary = options.binary ?? 'iptables';
  }

  /** MASQUERADE --random-fully needs iptables ≥ 1.6.2 (Flannel's HasRandomFully test). */
  async supportsRandomFully(): Promise<boolean> {
    const result = await this.#run(this.#binary, ['--version']);
    const match = /v(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
    if (result.code !== 0 || !match) return false;
    const [major, minor, patch] = match.slice(1).map(Number);
    return major > 1 || (major === 1 && (minor > 6 || (minor === 6 && patch >= 2)));
  }

  /** The rules of the set that are not in place. */
  async missing(rules: readonly IptablesRule[]): Promise<IptablesRule[]> {
    const absent: IptablesRule[] = [];
    for (const rule of rules) {
      const result = await this.#run(this.#binary, checkArgs(rule));
      // 1: no such rule (or chain); 2 with "does not exist": the jump target chain is gone.
      if (result.code === 1 || /does not exist/i.test(result.stderr)) absent.push(rule);
      else if (result.code !== 0) throw this.#failure('check', rule, result.stderr);
    }
    return absent;
  }

  /** Returns true when the set had to be (re)installed, false when every rule was already there. */
  async ensure(name: string, rules: readonly IptablesRule[]): Promise<boolean> {
    const absent = await this.missing(rules);
    if (absent.length === 0) return false;
    if (absent.length < rules.length) {
      this.#logger.warn(
        { ruleSet: name, missing: absent.map(describe) },
        'iptables rules missing; reinstalling the set in order',
      );
    }
    await this.remove(rules);
    for (const { table, chain } of chainsOf(rules)) {
      const result = await this.#run(this.#binary, [...lockArgs(), '-t', table, '-N', chain]);
      if (result.code !== 0 && !/exists/i.test(result.stderr))
        throw this.#failure('create chain', { table, chain }, result.stderr);
    }
    for (const rule of rules) {
      const result = await this.#run(this.#binary, addArgs(rule));
      if (result.code !== 0) throw this.#failure('add', rule, result.stderr);
    }
    this.#logger.info({ ruleSet: name, rules: rules.length }, 'iptables rules installed');
    return true;
  }

  /** Deletes every copy of every rule of the set; rules already absent are fine. */
  async remove(rules: readonly IptablesRule[]): Promise<void> {
    for (const rule of rules) {
      for (let copy = 0; copy < MAX_DUPLICATES; copy++) {
        const result = await this.#run(this.#binary, deleteArgs(rule));
        if (result.code !== 0) break;
      }
    }
  }

  #failure(
    what: string,
    rule: { table: string; chain: string; spec?: string[] },
    stderr: string,
  ): DaemonError {
    const text = stderr.trim().split('\n')[0] ?? '';
    return new DaemonError(
      'DAEMON_IPTABLES',
      `iptables ${what} failed for ${rule.table}/${rule.chain}${rule.spec ? ` ${rule.spec.join(' ')}` : ''}: ${text}`,
    );
  }
}

function describe(rule: IptablesRule): string {
  return `${rule.table} ${rule.chain} ${rule.spec.join(' ')}`;
}
