import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { FLAGS } from './flags.js';
import { helpText } from './help.js';
import { loadConfig } from './load.js';
import { redactConfig } from './redact.js';

const noFile = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
};
const readable = () => {};

function run(argv: string[], env: NodeJS.ProcessEnv = {}, files: Record<string, string> = {}) {
  const result = loadConfig(argv, env, {
    readFile: (path) => files[path] ?? noFile(path),
    checkReadable: readable,
  });
  if (result.kind !== 'run') throw new Error(`expected run, got ${result.kind}`);
  return result.config;
}

function failure(
  argv: string[],
  env: NodeJS.ProcessEnv = {},
  files: Record<string, string> = {},
): ConfigError {
  try {
    run(argv, env, files);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('uses Flannel defaults and felt defaults', () => {
    const config = run([]);
    expect(config).toEqual({
      etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'],
      etcdPrefix: '/coreos.com/network',
      etcdCaFile: null,
      etcdCertFile: null,
      etcdKeyFile: null,
      etcdUsername: null,
      etcdPassword: null,
      iface: [],
      ifaceRegex: [],
      ifaceCanReach: null,
      publicIp: null,
      subnetFile: '/run/flannel/subnet.env',
      subnetLeaseRenewMarginMinutes: 60,
      subnetLeaseTtlSeconds: 86400,
      ipMasq: false,
      ipMasqFullyRandomDisable: false,
      iptablesResyncSeconds: 5,
      iptablesForwardRules: true,
      healthzIp: '0.0.0.0',
      healthzPort: 0,
      metricsAddr: { host: '127.0.0.1', port: 9465 },
      metricsMaxPeers: 256,
      tunName: 'felt0',
      offloads: true,
      dataplaneWorkers: 'auto',
      logLevel: 'info',
      shutdownTimeoutMs: 10_000,
      releaseLeaseOnExit: false,
      configFile: null,
    });
  });

  it('turns data plane offloads off with --offloads=false (or FELTD_OFFLOADS=false)', () => {
    const fromFlag = loadConfig(['--offloads=false'], {});
    const fromEnv = loadConfig([], { FELTD_OFFLOADS: 'false' });
    for (const result of [fromFlag, fromEnv]) {
      expect(result.kind).toBe('run');
      if (result.kind === 'run') expect(result.config.offloads).toBe(false);
    }
  });

  it('reads --dataplane-workers as auto or a count, from flag, env and config file', () => {
    expect(run(['--dataplane-workers=2']).dataplaneWorkers).toBe(2);
    expect(run(['--dataplane-workers', 'AUTO']).dataplaneWorkers).toBe('auto');
    expect(run([], { FELTD_DATAPLANE_WORKERS: '4' }).dataplaneWorkers).toBe(4);
    expect(run(['--config=/f.json'], {}, { '/f.json': '{"dataplane-workers": 3}' }).dataplaneWorkers).toBe(3);
    for (const bad of ['0', '17', '1.5', 'two', '-1', '']) {
      const error = failure([`--dataplane-workers=${bad}`]);
      expect(error.code).toBe('DAEMON_BAD_FLAG');
      expect(error.message).toContain('--dataplane-workers');
      expect(error.message).toContain("'auto' or a whole number of workers from 1 to 16");
      expect(error.message).not.toContain('\n');
    }
    expect(failure([], { FELTD_DATAPLANE_WORKERS: 'many' }).message).toContain('FELTD_DATAPLANE_WORKERS');
  });

  it('answers --help and --version without validating anything else', () => {
    expect(loadConfig(['--help', '--iptables-resync=x'], {}).kind).toBe('help');
    expect(loadConfig(['--version'], { FELTD_IPTABLES_RESYNC: 'x' }).kind).toBe('version');
  });
});

describe('precedence flags > env > file > defaults', () => {
  const files = {
    '/etc/feltd.json': JSON.stringify({
      'tun-name': 'fromfile',
      'log-level': 'debug',
      'ip-masq': true,
      iface: ['eth9'],
    }),
  };

  it('file beats defaults', () => {
    const config = run(['--config', '/etc/feltd.json'], {}, files);
    expect(config.tunName).toBe('fromfile');
    expect(config.logLevel).toBe('debug');
    expect(config.ipMasq).toBe(true);
    expect(config.iface).toEqual(['eth9']);
    expect(config.configFile).toBe('/etc/feltd.json');
  });

  it('env beats file, flags beat env', () => {
    const env = { FELTD_TUN_NAME: 'fromenv', FELTD_LOG_LEVEL: 'warn', FELTD_IP_MASQ: 'false' };
    const config = run(['--config=/etc/feltd.json', '--log-level=error'], env, files);
    expect(config.tunName).toBe('fromenv');
    expect(config.logLevel).toBe('error');
    expect(config.ipMasq).toBe(false);
  });

  it('reads FLANNELD_<FLAG> for flanneld flags, below FELTD_<FLAG>', () => {
    const env = { FLANNELD_IFACE: 'eth7', FLANNELD_IP_MASQ: 'true', FLANNELD_TUN_NAME: 'ignored0' };
    const config = run([], env);
    expect(config.iface).toEqual(['eth7']);
    expect(config.ipMasq).toBe(true);
    expect(config.tunName).toBe('felt0');
    expect(run([], { ...env, FELTD_IFACE: 'eth8' }).iface).toEqual(['eth8']);
    expect(failure([], { FLANNELD_IPTABLES_RESYNC: 'x' }).message).toContain('FLANNELD_IPTABLES_RESYNC');
  });

  it('FELTD_CONFIG names the file when --config is absent', () => {
    expect(run([], { FELTD_CONFIG: '/etc/feltd.json' }, files).tunName).toBe('fromfile');
  });

  it('accepts Go-flag spellings used in flanneld units', () => {
    const config = run(['-iface=veth0', '--ip-masq=true', '-release-lease-on-exit', '--iface', '198.18.0.2']);
    expect(config.iface).toEqual(['veth0', '198.18.0.2']);
    expect(config.ipMasq).toBe(true);
    expect(config.releaseLeaseOnExit).toBe(true);
    expect(run(['--ip-masq', '--ip-masq=false']).ipMasq).toBe(false);
    expect(run(['--ip-masq', '--no-ip-masq']).ipMasq).toBe(false);
  });

  it('parses every value kind', () => {
    const config = run([
      '--etcd-endpoints=https://198.18.0.254:2379, http://198.18.0.253:2379',
      '--etcd-prefix=/felt/net/',
      '--metrics-addr=',
      '--shutdown-timeout=500ms',
      '--subnet-lease-ttl=120',
      '--subnet-lease-renew-margin=1',
      '--healthz-port=8081',
      '--public-ip=198.18.0.9',
    ]);
    expect(config.etcdEndpoints).toEqual(['https://198.18.0.254:2379', 'http://198.18.0.253:2379']);
    expect(config.etcdPrefix).toBe('/felt/net');
    expect(config.metricsAddr).toBeNull();
    expect(config.shutdownTimeoutMs).toBe(500);
    expect(config.healthzPort).toBe(8081);
    expect(config.publicIp).toBe('198.18.0.9');
    expect(run(['--shutdown-timeout=3']).shutdownTimeoutMs).toBe(3000);
    expect(run(['--shutdown-timeout=1.5s']).shutdownTimeoutMs).toBe(1500);
  });
});

describe('--iface-regex and --iface-can-reach', () => {
  it('keeps repeated patterns apart even when they hold commas', () => {
    const config = run(['--iface-regex=^eth[0-9]{1,2}$', '-iface-regex', '198\\.18\\.1\\.[0-9]{0,3}']);
    expect(config.ifaceRegex).toEqual(['^eth[0-9]{1,2}$', '198\\.18\\.1\\.[0-9]{0,3}']);
  });

  it('reads one pattern from FELTD_/FLANNELD_IFACE_REGEX (several one per line) and arrays from the file', () => {
    expect(run([], { FLANNELD_IFACE_REGEX: '10\\.64\\.[0-9]{1,3}\\.' }).ifaceRegex).toEqual([
      '10\\.64\\.[0-9]{1,3}\\.',
    ]);
    expect(run([], { FELTD_IFACE_REGEX: '^bond\n^eth1$\n', FLANNELD_IFACE_REGEX: 'x' }).ifaceRegex).toEqual([
      '^bond',
      '^eth1$',
    ]);
    const files = {
      '/f.json': JSON.stringify({ 'iface-regex': ['^a{1,2}', '^b'], 'iface-can-reach': '198.19.0.1' }),
    };
    const config = run(['--config=/f.json'], {}, files);
    expect(config.ifaceRegex).toEqual(['^a{1,2}', '^b']);
    expect(config.ifaceCanReach).toBe('198.19.0.1');
  });

  it('reads --iface-can-reach from the flag and FLANNELD_IFACE_CAN_REACH', () => {
    expect(run(['--iface-can-reach=198.19.0.1']).ifaceCanReach).toBe('198.19.0.1');
    expect(run([], { FLANNELD_IFACE_CAN_REACH: ' 198.19.0.2 ' }).ifaceCanReach).toBe('198.19.0.2');
    expect(run(['--iface-can-reach=']).ifaceCanReach).toBeNull();
  });

  it('rejects an invalid pattern or address with one line naming the flag and its source', () => {
    for (const [argv, env, source] of [
      [['--iface-regex=eth(0'], {}, '--iface-regex'],
      [['--iface-regex=^eth1$', '--iface-regex=[z-a]'], {}, '--iface-regex'],
      [[], { FLANNELD_IFACE_REGEX: '*eth' }, 'FLANNELD_IFACE_REGEX'],
      [['--iface-can-reach=eth0'], {}, '--iface-can-reach'],
      [['--iface-can-reach=198.19.0.300'], {}, '--iface-can-reach'],
      [[], { FELTD_IFACE_CAN_REACH: 'fc00::1' }, 'FELTD_IFACE_CAN_REACH'],
    ] as [string[], NodeJS.ProcessEnv, string][]) {
      const error = failure(argv, env);
      expect(error.code).toBe('DAEMON_BAD_FLAG');
      expect(error.flag).toMatch(/^iface-(regex|can-reach)$/);
      expect(error.message).toContain(source);
      expect(error.message).not.toContain('\n');
    }
    expect(failure(['--iface-regex=eth(0']).message).toContain('is not a regular expression');
  });

  it('are listed by --help with their env names', () => {
    const text = helpText();
    expect(text).toContain('--iface-regex=VALUE (repeatable)');
    expect(text).toContain('FELTD_IFACE_REGEX');
    expect(text).toContain('--iface-can-reach=VALUE');
    expect(text).toContain('FELTD_IFACE_CAN_REACH');
  });
});

describe('invalid values: one line naming the flag and the fix', () => {
  const cases: [string[], NodeJS.ProcessEnv, string][] = [
    [['--etcd-endpoints=127.0.0.1:2379'], {}, 'etcd-endpoints'],
    [['--etcd-endpoints=ftp://x'], {}, 'etcd-endpoints'],
    [['--etcd-prefix=coreos.com'], {}, 'etcd-prefix'],
    [['--iface=bad/name'], {}, 'iface'],
    [['--public-ip=300.1.1.1'], {}, 'public-ip'],
    [['--subnet-file='], {}, 'subnet-file'],
    [['--subnet-lease-renew-margin=0'], {}, 'subnet-lease-renew-margin'],
    [['--subnet-lease-renew-margin=1440'], {}, 'subnet-lease-renew-margin'],
    [['--subnet-lease-ttl=600', '--subnet-lease-renew-margin=10'], {}, 'subnet-lease-renew-margin'],
    [['--ip-masq=maybe'], {}, 'ip-masq'],
    [['--iptables-resync=0'], {}, 'iptables-resync'],
    [['--iptables-resync=5s'], {}, 'iptables-resync'],
    [['--healthz-ip=localhost'], {}, 'healthz-ip'],
    [['--healthz-port=70000'], {}, 'healthz-port'],
    [['--metrics-addr=9465'], {}, 'metrics-addr'],
    [['--metrics-max-peers=0'], {}, 'metrics-max-peers'],
    [['--tun-name=averyveryverylongname'], {}, 'tun-name'],
    [['--log-level=loud'], {}, 'log-level'],
    [['--shutdown-timeout=soon'], {}, 'shutdown-timeout'],
    [['--shutdown-timeout=0'], {}, 'shutdown-timeout'],
    [['--etcd-certfile=/c.pem'], {}, 'etcd-keyfile'],
    [[], { FELTD_IPTABLES_RESYNC: 'often' }, 'iptables-resync'],
    [['--tun-name'], {}, 'tun-name'],
    [['--bogus'], {}, 'bogus'],
    [['--no-such-flag=1'], {}, 'no-such-flag'],
    [['--no-tun-name'], {}, 'no-tun-name'],
  ];
  for (const [argv, env, flagName] of cases) {
    it(`${JSON.stringify(argv)} ${JSON.stringify(env)} → --${flagName}`, () => {
      const error = failure(argv, env);
      expect(error.flag).toBe(flagName);
      expect(error.message).toContain(`--${flagName}`);
      expect(error.message).not.toContain('\n');
      expect(error.code).toMatch(/^DAEMON_/);
    });
  }

  it('names the env variable when the value came from env', () => {
    expect(failure([], { FELTD_LOG_LEVEL: 'loud' }).message).toContain('FELTD_LOG_LEVEL');
  });

  it('names the config file when the value came from it', () => {
    const error = failure(['--config=/f.json'], {}, { '/f.json': '{"healthz-port": -1}' });
    expect(error.message).toContain('/f.json');
    expect(error.flag).toBe('healthz-port');
  });

  it('rejects unreadable, non-object and unknown-key config files', () => {
    expect(failure(['--config=/missing.json']).code).toBe('DAEMON_BAD_CONFIG_FILE');
    expect(failure(['--config=/f.json'], {}, { '/f.json': '[1]' }).code).toBe('DAEMON_BAD_CONFIG_FILE');
    expect(failure(['--config=/f.json'], {}, { '/f.json': '{"ipmasq": true}' }).message).toContain('ipmasq');
    expect(failure(['--config=/f.json'], {}, { '/f.json': '{"iface": {"a": 1}}' }).message).toContain(
      'iface',
    );
  });

  it('rejects positional arguments', () => {
    expect(failure(['etcd']).code).toBe('DAEMON_UNKNOWN_FLAG');
  });

  it('checks that TLS files are readable', () => {
    const unreadable = loadConfigError(['--etcd-cafile=/nope']);
    expect(unreadable.flag).toBe('etcd-cafile');
    expect(unreadable.message).toContain('ENOENT');
  });
});

function loadConfigError(argv: string[]): ConfigError {
  try {
    loadConfig(argv, {}, { checkReadable: noFile });
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error('expected failure');
}

describe('help and redaction', () => {
  it('lists every visible flag with its default', () => {
    const text = helpText();
    for (const spec of FLAGS.filter((candidate) => !candidate.hidden)) {
      expect(text).toContain(`--${spec.name}`);
    }
    expect(text).toContain('"http://127.0.0.1:4001,http://127.0.0.1:2379"');
    expect(text).toContain('--config=FILE');
    expect(text).toContain('--version');
  });

  it('redacts the password and URL credentials', () => {
    const config = run(['--etcd-password=hunter2', '--etcd-endpoints=http://u:pw@198.18.0.1:2379']);
    const shown = JSON.stringify(redactConfig(config));
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain(':pw@');
    expect(shown).toContain('[redacted]');
  });
});
