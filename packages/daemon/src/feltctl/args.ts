// feltctl's command line: `feltctl [flags] <command> [args]`. etcd flags mean what they mean for feltd
// and also come from the same FELTD_* environment variables (flags win).
import { parseArgs } from 'node:util';
import {
  BadValue,
  type HostPort,
  parseDurationMs,
  parseEndpoints,
  parseEtcdPrefix,
  parseListenAddress,
  parseOptionalPath,
} from '../config/values.js';
import { FeltctlError } from './errors.js';

export interface EtcdConnection {
  endpoints: string[];
  prefix: string;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  username: string | null;
  password: string | null;
  timeoutMs: number;
}

export type OutputFormat = 'table' | 'json';

export type Command =
  | { name: 'help' }
  | { name: 'version' }
  | { name: 'config-get'; etcd: EtcdConnection }
  | { name: 'config-set'; etcd: EtcdConnection; source: ConfigSource; dryRun: boolean }
  | { name: 'leases'; etcd: EtcdConnection; output: OutputFormat }
  | { name: 'status'; metricsAddr: HostPort; timeoutMs: number; output: OutputFormat };

/** Where `config set` reads the document: a file, stdin ('-'), or inline JSON. */
export type ConfigSource =
  | { kind: 'file'; path: string }
  | { kind: 'stdin' }
  | { kind: 'inline'; json: string };

const OPTIONS = {
  'etcd-endpoints': { type: 'string' },
  'etcd-prefix': { type: 'string' },
  'etcd-cafile': { type: 'string' },
  'etcd-certfile': { type: 'string' },
  'etcd-keyfile': { type: 'string' },
  'etcd-username': { type: 'string' },
  'etcd-password': { type: 'string' },
  'metrics-addr': { type: 'string' },
  timeout: { type: 'string' },
  file: { type: 'string', short: 'f' },
  'dry-run': { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = Partial<Record<OptionName, string | boolean>>;

export const USAGE = `Usage: feltctl [flags] <command>

Commands:
  config get                     print the network config stored at <prefix>/config
  config set (--file F | JSON | -)
                                 validate a network config (Flannel JSON) and store it
                                 (--dry-run: validate and print the effective config only)
  leases                         table of subnet leases: subnet, public IP, backend, VtepMAC, expiry
  status                         a node's peers, traffic and drops, read from its /metrics

Flags (etcd flags also from FELTD_ETCD_* environment variables, as for feltd):
  --etcd-endpoints URLS          comma-separated etcd URLs (default http://127.0.0.1:2379)
  --etcd-prefix PREFIX           key prefix (default /coreos.com/network)
  --etcd-cafile/--etcd-certfile/--etcd-keyfile FILE, --etcd-username/--etcd-password TEXT
  --metrics-addr HOST:PORT       node to read for status (default 127.0.0.1:9465)
  --timeout DURATION             deadline of each etcd call or HTTP request (default 5s)
  -o, --output table|json        output format of leases and status (default table)
  -h, --help, --version
`;

function envName(flag: string): string {
  return `FELTD_${flag.toUpperCase().replaceAll('-', '_')}`;
}

function usage(message: string): FeltctlError {
  return new FeltctlError('FELTCTL_USAGE', `${message}; see feltctl --help`);
}

/** A flag's text: the flag, else its FELTD_* env var, else the default. */
function text(values: Values, env: NodeJS.ProcessEnv, flag: OptionName, fallback: string): string {
  const fromFlag = values[flag];
  if (typeof fromFlag === 'string') return fromFlag;
  return env[envName(flag)] ?? fallback;
}

function parsed<T>(flag: OptionName, raw: string, parse: (raw: string) => T): T {
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof BadValue) throw usage(`--${flag} ${JSON.stringify(raw)}: ${error.message}`);
    throw error;
  }
}

function etcdConnection(values: Values, env: NodeJS.ProcessEnv, timeoutMs: number): EtcdConnection {
  const optional = (flag: OptionName) => parsed(flag, text(values, env, flag, ''), parseOptionalPath);
  return {
    endpoints: parsed(
      'etcd-endpoints',
      text(values, env, 'etcd-endpoints', 'http://127.0.0.1:2379'),
      parseEndpoints,
    ),
    prefix: parsed('etcd-prefix', text(values, env, 'etcd-prefix', '/coreos.com/network'), parseEtcdPrefix),
    caFile: optional('etcd-cafile'),
    certFile: optional('etcd-certfile'),
    keyFile: optional('etcd-keyfile'),
    username: optional('etcd-username'),
    password: text(values, env, 'etcd-password', '') || null,
    timeoutMs,
  };
}

function outputFormat(values: Values): OutputFormat {
  const raw = typeof values.output === 'string' ? values.output : 'table';
  if (raw !== 'table' && raw !== 'json')
    throw usage(`--output ${JSON.stringify(raw)}: expected table or json`);
  return raw;
}

function configSource(values: Values, rest: string[]): ConfigSource {
  const file = typeof values.file === 'string' ? values.file : undefined;
  if (file !== undefined && rest.length > 0)
    throw usage('config set takes either --file or a JSON argument, not both');
  if (file !== undefined) return file === '-' ? { kind: 'stdin' } : { kind: 'file', path: file };
  if (rest.length === 0)
    throw usage('config set needs the config: --file F, a JSON argument, or - for stdin');
  if (rest.length > 1) throw usage('config set takes one JSON argument (quote it)');
  return rest[0] === '-' ? { kind: 'stdin' } : { kind: 'inline', json: rest[0] };
}

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): Command {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw usage((error as Error).message);
  }
  if (values.help) return { name: 'help' };
  if (values.version) return { name: 'version' };
  const timeoutMs = parsed('timeout', text(values, {}, 'timeout', '5s'), parseDurationMs);
  const [command, ...rest] = positionals;

  switch (command) {
    case undefined:
    case 'help':
      return { name: 'help' };
    case 'config': {
      const [action, ...args] = rest;
      if (action === 'get' && args.length === 0)
        return { name: 'config-get', etcd: etcdConnection(values, env, timeoutMs) };
      if (action === 'set') {
        return {
          name: 'config-set',
          etcd: etcdConnection(values, env, timeoutMs),
          source: configSource(values, args),
          dryRun: values['dry-run'] === true,
        };
      }
      throw usage(`unknown config action ${JSON.stringify(rest.join(' '))}; expected get or set`);
    }
    case 'leases':
      if (rest.length > 0) throw usage('leases takes no arguments');
      return { name: 'leases', etcd: etcdConnection(values, env, timeoutMs), output: outputFormat(values) };
    case 'status': {
      if (rest.length > 0) throw usage('status takes no arguments (use --metrics-addr host:port)');
      const addr = parsed(
        'metrics-addr',
        text(values, env, 'metrics-addr', '127.0.0.1:9465'),
        parseListenAddress,
      );
      if (addr === null) throw usage('--metrics-addr must name the node to read, e.g. 127.0.0.1:9465');
      return { name: 'status', metricsAddr: addr, timeoutMs, output: outputFormat(values) };
    }
    default:
      throw usage(`unknown command ${JSON.stringify(command)}`);
  }
}
