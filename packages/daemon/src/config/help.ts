// The --help text, generated from the flag table so it cannot drift from what the loader accepts.
import { envName, FLAGS } from './flags.js';

export function helpText(): string {
  const rows: [string, string][] = [];
  for (const spec of FLAGS) {
    if (spec.hidden) continue;
    const usage = spec.boolean
      ? `--${spec.name}`
      : `--${spec.name}=${spec.repeatable ? 'VALUE (repeatable)' : 'VALUE'}`;
    const fallback = spec.defaultText ?? (spec.boolean ? String(spec.default) : JSON.stringify(spec.default));
    rows.push([usage, `${spec.help} (default ${fallback}; env ${envName(spec.name)})`]);
  }
  rows.push([
    '--config=FILE',
    `JSON object keyed by flag name, e.g. {"ip-masq": true} (env ${envName('config')})`,
  ]);
  rows.push(['--version', 'print the version and exit']);
  rows.push(['--help', 'print this list and exit']);
  const width = Math.max(...rows.map(([usage]) => usage.length)) + 2;
  return [
    'Usage: feltd [flags]',
    '',
    'felt node daemon: leases a subnet in etcd (Flannel layout) and forwards the overlay in userspace.',
    'Each flag can also be set by env FELTD_<FLAG> or a --config file; flags > env > file > defaults.',
    '',
    ...rows.map(([usage, text]) => `  ${usage.padEnd(width)}${text}`),
    '',
  ].join('\n');
}
