import { describe, expect, it } from 'vitest';
import type { CommandResult } from '../exec.js';
import { IptablesManager } from './manager.js';
import { addArgs, forwardRules, masqRules } from './rules.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe("Flannel's rule list and order", () => {
  it('masquerade rules', () => {
    const text = masqRules('10.5.0.0/16', '10.5.72.0/24', true).map((rule) => addArgs(rule).join(' '));
    const c = '-m comment --comment feltd masq';
    expect(text).toEqual([
      `-w 5 -t nat -I POSTROUTING 1 ${c} -j FELT-POSTRTG`,
      `-w 5 -t nat -A FELT-POSTRTG -m mark --mark 0x4000/0x4000 ${c} -j RETURN`,
      `-w 5 -t nat -A FELT-POSTRTG -s 10.5.72.0/24 -d 10.5.0.0/16 ${c} -j RETURN`,
      `-w 5 -t nat -A FELT-POSTRTG -s 10.5.0.0/16 -d 10.5.72.0/24 ${c} -j RETURN`,
      `-w 5 -t nat -A FELT-POSTRTG ! -s 10.5.0.0/16 -d 10.5.72.0/24 ${c} -j RETURN`,
      `-w 5 -t nat -A FELT-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 ${c} -j MASQUERADE --random-fully`,
      `-w 5 -t nat -A FELT-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 ${c} -j MASQUERADE --random-fully`,
    ]);
    expect(masqRules('10.5.0.0/16', '10.5.72.0/24', false)[6].spec.at(-1)).toBe('MASQUERADE');
  });

  it('forward rules', () => {
    const text = forwardRules('10.5.0.0/16').map((rule) => addArgs(rule).join(' '));
    const c = '-m comment --comment feltd forward';
    expect(text).toEqual([
      `-w 5 -t filter -I FORWARD 1 ${c} -j FELT-FWD`,
      `-w 5 -t filter -A FELT-FWD -s 10.5.0.0/16 ${c} -j ACCEPT`,
      `-w 5 -t filter -A FELT-FWD -d 10.5.0.0/16 ${c} -j ACCEPT`,
    ]);
  });
});

/** A tiny in-memory iptables: enough of -C/-A/-I/-D/-N semantics for the manager. */
function fakeIptables() {
  const chains = new Map<string, string[]>([
    ['nat/POSTROUTING', ['-j OTHER']],
    ['filter/FORWARD', []],
  ]);
  const calls: string[][] = [];
  const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '' });
  const fail = (stderr: string): CommandResult => ({ code: 1, stdout: '', stderr });
  const run = async (_command: string, args: readonly string[]): Promise<CommandResult> => {
    calls.push([...args]);
    if (args[0] === '--version') return ok('iptables v1.8.9 (nf_tables)\n');
    const [, , , table, op, chain, ...rest] = args;
    const key = `${table}/${chain}`;
    const rules = chains.get(key);
    if (op === '-N') {
      if (rules) return fail('iptables: Chain already exists.');
      chains.set(key, []);
      return ok();
    }
    if (!rules) return fail('iptables: No chain/target/match by that name.');
    const spec = (op === '-I' ? rest.slice(1) : rest).join(' ');
    if (op === '-C') return rules.includes(spec) ? ok() : fail('iptables: Bad rule.');
    if (op === '-A') rules.push(spec);
    if (op === '-I') rules.unshift(spec);
    if (op === '-D') {
      const index = rules.indexOf(spec);
      if (index < 0) return fail('iptables: Bad rule.');
      rules.splice(index, 1);
    }
    return ok();
  };
  return { chains, calls, run };
}

describe('IptablesManager', () => {
  it('installs in order, leaves a complete set alone, reinstalls the whole set when one rule is gone', async () => {
    const fake = fakeIptables();
    const manager = new IptablesManager({ run: fake.run, logger: silent });
    expect(await manager.supportsRandomFully()).toBe(true);
    const rules = masqRules('10.5.0.0/16', '10.5.72.0/24', true);
    expect(await manager.ensure('masq', rules)).toBe(true);
    const chain = fake.chains.get('nat/FELT-POSTRTG') ?? [];
    expect(chain).toEqual(rules.slice(1).map((rule) => rule.spec.join(' ')));
    expect(fake.chains.get('nat/POSTROUTING')?.[0]).toContain('FELT-POSTRTG');

    const before = fake.calls.length;
    expect(await manager.ensure('masq', rules)).toBe(false);
    expect(fake.calls.slice(before).every((args) => args.includes('-C'))).toBe(true);

    chain.splice(2, 1); // someone deleted one RETURN rule
    expect(await manager.ensure('masq', rules)).toBe(true);
    expect(fake.chains.get('nat/FELT-POSTRTG')).toEqual(rules.slice(1).map((rule) => rule.spec.join(' ')));
    expect(fake.chains.get('nat/POSTROUTING')?.filter((spec) => spec.includes('FELT-POSTRTG'))).toHaveLength(
      1,
    );
  });

  it('removes an old set (subnet changed) without touching other rules', async () => {
    const fake = fakeIptables();
    const manager = new IptablesManager({ run: fake.run, logger: silent });
    const old = masqRules('10.5.0.0/16', '10.5.72.0/24', true);
    await manager.ensure('masq', old);
    await manager.remove(old);
    expect(fake.chains.get('nat/FELT-POSTRTG')).toEqual([]);
    expect(fake.chains.get('nat/POSTROUTING')).toEqual(['-j OTHER']);
  });

  it('reports a failing iptables with a stable code', async () => {
    const manager = new IptablesManager({
      run: async () => ({
        code: 4,
        stdout: '',
        stderr: 'iptables v1.8.9: Permission denied (you must be root)\n',
      }),
      logger: silent,
    });
    await expect(
      manager.ensure('masq', masqRules('10.5.0.0/16', '10.5.72.0/24', false)),
    ).rejects.toMatchObject({
      code: 'DAEMON_IPTABLES',
    });
  });

  it('never runs anything but the iptables binary with an argument array', async () => {
    const commands: string[] = [];
    const manager = new IptablesManager({
      run: async (command) => {
        commands.push(command);
        return { code: 0, stdout: '', stderr: '' };
      },
      logger: silent,
    });
    await manager.ensure('forward', forwardRules('10.5.0.0/16'));
    expect(new Set(commands)).toEqual(new Set(['iptables']));
  });
});
