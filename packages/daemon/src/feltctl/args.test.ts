import { describe, expect, it } from 'vitest';
import { parseCommandLine } from './args.js';

const defaults = {
  endpoints: ['http://127.0.0.1:2379'],
  prefix: '/coreos.com/network',
  caFile: null,
  certFile: null,
  keyFile: null,
  username: null,
  password: null,
  timeoutMs: 5000,
};

function usageError(argv: string[], env = {}) {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    return error as { code: string; message: string; exitCode: number };
  }
  throw new Error(`no error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('parses config get with feltd defaults', () => {
    expect(parseCommandLine(['config', 'get'], {})).toEqual({ name: 'config-get', etcd: defaults });
  });

  it('takes etcd flags like feltd, flags over FELTD_* env', () => {
    const env = {
      FELTD_ETCD_ENDPOINTS: 'http://10.0.0.1:2379',
      FELTD_ETCD_PREFIX: '/env/prefix',
      FELTD_ETCD_USERNAME: 'u',
    };
    const command = parseCommandLine(['--etcd-prefix', '/flag/prefix/', 'leases'], env);
    expect(command).toMatchObject({
      name: 'leases',
      output: 'table',
      etcd: { endpoints: ['http://10.0.0.1:2379'], prefix: '/flag/prefix', username: 'u' },
    });
  });

  it('reads the config set source from --file, an argument, or stdin', () => {
    expect(parseCommandLine(['config', 'set', '--file', 'net.json'], {})).toMatchObject({
      source: { kind: 'file', path: 'net.json' },
      dryRun: false,
    });
    expect(parseCommandLine(['config', 'set', '{"Network":"10.1.0.0/16"}', '--dry-run'], {})).toMatchObject({
      source: { kind: 'inline', json: '{"Network":"10.1.0.0/16"}' },
      dryRun: true,
    });
    expect(parseCommandLine(['config', 'set', '-'], {})).toMatchObject({ source: { kind: 'stdin' } });
  });

  it('parses status with --metrics-addr, env fallback and default', () => {
    expect(parseCommandLine(['status'], {})).toEqual({
      name: 'status',
      metricsAddr: { host: '127.0.0.1', port: 9465 },
      timeoutMs: 5000,
      output: 'table',
    });
    expect(
      parseCommandLine(['status', '-o', 'json', '--timeout', '2s'], {
        FELTD_METRICS_ADDR: '198.18.0.1:9000',
      }),
    ).toEqual({
      name: 'status',
      metricsAddr: { host: '198.18.0.1', port: 9000 },
      timeoutMs: 2000,
      output: 'json',
    });
  });

  it('shows help without a command, and for --help', () => {
    expect(parseCommandLine([], {})).toEqual({ name: 'help' });
    expect(parseCommandLine(['leases', '--help'], {})).toEqual({ name: 'help' });
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['config'], /unknown config action/],
    [['config', 'set'], /needs the config/],
    [['config', 'set', '--file', 'a.json', '{}'], /either --file or a JSON argument/],
    [['--etcd-endpoints', 'ftp://x', 'leases'], /--etcd-endpoints "ftp:\/\/x": .*http or https/],
    [['--etcd-prefix', 'relative', 'leases'], /--etcd-prefix "relative": expected an absolute key prefix/],
    [['--metrics-addr', 'nope', 'status'], /--metrics-addr "nope"/],
    [['--metrics-addr', '', 'status'], /must name the node/],
    [['-o', 'yaml', 'leases'], /--output "yaml": expected table or json/],
    [['--timeout', 'soon', 'leases'], /--timeout "soon"/],
    [['--bogus', 'leases'], /Unknown option '--bogus'/],
  ])('rejects %j with a usage error', (argv, message) => {
    const error = usageError(argv);
    expect(error.code).toBe('FELTCTL_USAGE');
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(message);
  });
});
