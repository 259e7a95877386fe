// Builds the addon with node-gyp against the headers of the Node that runs this script, so no
// header download is ever needed (the machine has no network beyond the package registries).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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

if (!existsSync(path.join(packageDir, 'build', 'config.gypi'))) run('configure');
run('build');
