// Builds the effective config: flags > FELTD_<FLAG> env (then FLANNELD_<FLAG>) > --config JSON file > defaults. Every value is
// validated once, after merging, so an error names the flag and where its value came from.
import { accessSync, constants, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, describeSource, type ValueSource } from './errors.js';
import { type DaemonConfig, envName, FLAGS, type FlagSpec } from './flags.js';
import { BadValue } from './values.js';

export type LoadResult = { kind: 'run'; config: DaemonConfig } | { kind: 'help' } | { kind: 'version' };

interface RawValue {
  text: string;
  source: ValueSource;
}

export interface LoadOptions {
  readFile?: (path: string) => string;
  /** Checks that a TLS file is readable; injectable for tests. */
  checkReadable?: (path: string) => void;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv, options: LoadOptions = {}): LoadResult {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const checkReadable = options.checkReadable ?? ((path: string) => accessSync(path, constants.R_OK));
  const cli = parseCommandLine(argv);
  if (cli.help) return { kind: 'help' };
  if (cli.version) return { kind: 'version' };

  const configFile = cli.config ?? nonEmpty(env[envName('config')]);
  const fromFile = configFile === null ? new Map<string, RawValue>() : readConfigFile(configFile, readFile);
  const values: Partial<Record<keyof DaemonConfig, unknown>> = { configFile };
  for (const spec of FLAGS) {
    const raw = cli.values.get(spec.name) ?? fromEnv(spec, env) ?? fromFile.get(spec.name);
    values[spec.key] = raw === undefined ? parseDefault(spec) : parseRaw(spec, raw);
  }
  const config = values as DaemonConfig;
  checkCombinations(config, checkReadable);
  return { kind: 'run', config };
}

interface CommandLine {
  help: boolean;
  version: boolean;
  config: string | null;
  values: Map<string, RawValue>;
}

function parseCommandLine(argv: string[]): CommandLine {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {
    help: { type: 'boolean' },
    version: { type: 'boolean' },
    config: { type: 'string' },
  };
  for (const spec of FLAGS) {
    options[spec.name] = { type: spec.boolean ? 'boolean' : 'string', multiple: spec.repeatable === true };
  }
  const args = normaliseArgs(argv);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: false, allowNegative: true });
  } catch (err) {
    throw commandLineError(err);
  }
  const values = new Map<string, RawValue>();
  for (const spec of FLAGS) {
    const value = parsed.values[spec.name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(spec.separator ?? ',') : String(value);
    values.set(spec.name, { text, source: { kind: 'flag' } });
  }
  const config = parsed.values.config;
  return {
    help: parsed.values.help === true,
    version: parsed.values.version === true,
    config: typeof config === 'string' && config !== '' ? config : null,
    values,
  };
}

const KNOWN_NAMES = new Set(['help', 'version', 'config', ...FLAGS.map((spec) => spec.name)]);
const BOOLEAN_NAMES = new Set([
  'help',
  'version',
  ...FLAGS.filter((spec) => spec.boolean).map((spec) => spec.name),
]);

/**
 * Go-flag spellings flanneld users have in their units: '-iface=eth0' (one dash) and
 * '--ip-masq=false' (a value on a boolean flag).
 */
function normaliseArgs(argv: string[]): string[] {
  return argv.map((arg) => {
    const single = /^-([a-z][a-z-]+)(=.*)?$/.exec(arg);
    const text = single && KNOWN_NAMES.has(single[1]) ? `-${arg}` : arg;
    const match = /^--([a-z-]+)=(.*)$/.exec(text);
    if (!match || !BOOLEAN_NAMES.has(match[1])) return text;
    if (/^(true|1)$/i.test(match[2])) return `--${match[1]}`;
    if (/^(false|0)$/i.test(match[2])) return `--no-${match[1]}`;
    throw new ConfigError(
      'DAEMON_BAD_FLAG',
      match[1],
      `feltd: invalid --${match[1]} value ${JSON.stringify(match[2])}: expected true or false`,
    );
  });
}

function commandLineError(err: unknown): ConfigError {
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  const name = /'-{1,2}([A-Za-z0-9-]+)/.exec(message)?.[1] ?? null;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new ConfigError(
      'DAEMON_UNKNOWN_FLAG',
      name,
      `feltd: unknown flag --${name ?? '?'}; run feltd --help for the list`,
    );
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const positional = /'([^']*)'/.exec(message)?.[1] ?? '';
    return new ConfigError(
      'DAEMON_UNKNOWN_FLAG',
      null,
      `feltd: unexpected argument ${JSON.stringify(positional)}; flags take the form --name=value (see feltd --help)`,
    );
  }
  return new ConfigError(
    'DAEMON_BAD_FLAG',
    name,
    `feltd: --${name ?? '?'} needs a value, e.g. --${name ?? 'flag'}=VALUE`,
  );
}

function readConfigFile(path: string, readFile: (path: string) => string): Map<string, RawValue> {
  const fail = (why: string) =>
    new ConfigError('DAEMON_BAD_CONFIG_FILE', 'config', `feltd: --config ${path}: ${why}`);
  let document: unknown;
  try {
    document = JSON.parse(readFile(path));
  } catch (err) {
    const reason = (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
    throw fail(`cannot read it as JSON (${reason}); give a JSON object keyed by flag name`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw fail('expected a JSON object keyed by flag name, e.g. {"ip-masq": true}');
  }
  const values = new Map<string, RawValue>();
  for (const [name, value] of Object.entries(document)) {
    const spec = FLAGS.find((candidate) => candidate.name === name);
    if (!spec)
      throw fail(
        `unknown key ${JSON.stringify(name)}; keys are flag names without dashes (see feltd --help)`,
      );
    values.set(name, { text: fileValueText(spec, value, fail), source: { kind: 'file', path } });
  }
  return values;
}

function fileValueText(spec: FlagSpec, value: unknown, fail: (why: string) => ConfigError): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
    return value.join(spec.separator ?? ',');
  throw fail(`key ${JSON.stringify(spec.name)} must be a string, number or boolean`);
}

/** FELTD_<FLAG>, else (for flanneld's own flags) FLANNELD_<FLAG> as in flanneld's env files. */
function fromEnv(spec: FlagSpec, env: NodeJS.ProcessEnv): RawValue | undefined {
  const names = spec.flannel ? [envName(spec.name), envName(spec.name, 'FLANNELD')] : [envName(spec.name)];
  for (const name of names) {
    const text = env[name];
    if (text !== undefined) return { text, source: { kind: 'env', name } };
  }
  return undefined;
}

function parseRaw(spec: FlagSpec, raw: RawValue): unknown {
  try {
    return spec.parse(raw.text);
  } catch (err) {
    if (!(err instanceof BadValue)) throw err;
    const shown = spec.secret ? '(redacted)' : JSON.stringify(raw.text);
    const example = spec.boolean ? '' : ` (default ${JSON.stringify(spec.default)})`;
    throw new ConfigError(
      'DAEMON_BAD_FLAG',
      spec.name,
      `feltd: invalid ${describeSource(spec.name, raw.source)} value ${shown}: ${err.message}${example}`,
    );
  }
}

function parseDefault(spec: FlagSpec): unknown {
  return spec.parse(String(spec.default));
}

function checkCombinations(config: DaemonConfig, checkReadable: (path: string) => void): void {
  if (config.subnetLeaseRenewMarginMinutes * 60 >= config.subnetLeaseTtlSeconds) {
    throw new ConfigError(
      'DAEMON_BAD_FLAG',
      'subnet-lease-renew-margin',
      `feltd: invalid --subnet-lease-renew-margin ${config.subnetLeaseRenewMarginMinutes}: must be shorter than the lease lifetime (${config.subnetLeaseTtlSeconds} s); lower it or raise --subnet-lease-ttl`,
    );
  }
  if ((config.etcdCertFile === null) !== (config.etcdKeyFile === null)) {
    const missing = config.etcdCertFile === null ? 'etcd-certfile' : 'etcd-keyfile';
    throw new ConfigError(
      'DAEMON_BAD_FLAG',
      missing,
      `feltd: --etcd-certfile and --etcd-keyfile go together; add --${missing}`,
    );
  }
  const files: [string, string | null][] = [
    ['etcd-cafile', config.etcdCaFile],
    ['etcd-certfile', config.etcdCertFile],
    ['etcd-keyfile', config.etcdKeyFile],
  ];
  for (const [name, path] of files) {
    if (path === null) continue;
    try {
      checkReadable(path);
    } catch (err) {
      const reason = (err as { code?: string }).code ?? 'unreadable';
      throw new ConfigError(
        'DAEMON_BAD_FLAG',
        name,
        `feltd: invalid --${name} ${JSON.stringify(path)}: cannot read it (${reason}); give a readable PEM file`,
      );
    }
  }
}

function nonEmpty(text: string | undefined): string | null {
  return text === undefined || text === '' ? null : text;
}
