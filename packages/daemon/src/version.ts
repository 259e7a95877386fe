// The daemon's version, from its package.json (one directory above both src/ and dist/).
import { readFileSync } from 'node:fs';

export function daemonVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
