// The effective config as it may be logged or served: secrets and URL passwords replaced.
import { type DaemonConfig, FLAGS } from './flags.js';

const REDACTED = '[redacted]';

export function redactConfig(config: DaemonConfig): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...config };
  for (const spec of FLAGS) {
    if (spec.secret && shown[spec.key] !== null) shown[spec.key] = REDACTED;
  }
  shown.etcdEndpoints = config.etcdEndpoints.map(redactUrlPassword);
  return shown;
}

function redactUrlPassword(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.password === '') return endpoint;
  url.password = REDACTED;
  return url.toString();
}
