// Builds the addon with node-gyp against the headers of the Node that runs this script, so no
// header download is ever needed (the machine has no network beyond the package registries).
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');

const nodeDir = path.resolve(process.execPath, '..', '..');
const args = [];
if (existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${nodeDir}`);

const run = (verb) =>
  execFileSync(process.execPath, [nodeGyp, verb, ...args], { cwd: packageDir, stdio: 'inherit' });

// Configure again when binding.gyp changed since the last configure (e.g. a new source file).
const configGypi = path.join(packageDir, 'build', 'config.gypi');
const stale = () => statSync(path.join(packageDir, 'binding.gyp')).mtimeMs > statSync(configGypi).mtimeMs;
if (!existsSync(configGypi) || stale()) run('configure');
run('build');
