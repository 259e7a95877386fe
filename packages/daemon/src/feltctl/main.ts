// feltctl entry point: parse, run one command, map failures to one stderr line and an exit code.
import { daemonVersion } from '../version.js';
import { type Command, parseCommandLine, USAGE } from './args.js';
import { configGet, configSet } from './commands/config.js';
import { leases } from './commands/leases.js';
import { status } from './commands/status.js';
import { FeltctlError } from './errors.js';
import { type FeltctlStore, openEtcdStore } from './etcd.js';
import { type CommandIo, processIo } from './io.js';

export interface FeltctlDeps {
  io: CommandIo;
  env: NodeJS.ProcessEnv;
  /** How to reach etcd; tests pass a fake. */
  openStore: typeof openEtcdStore;
}

async function withStore(
  command: Extract<Command, { etcd: unknown }>,
  deps: FeltctlDeps,
  run: (store: FeltctlStore) => Promise<number>,
) {
  const store = deps.openStore(command.etcd);
  try {
    return await run(store);
  } finally {
    store.close();
  }
}

async function execute(command: Command, deps: FeltctlDeps): Promise<number> {
  const { io } = deps;
  switch (command.name) {
    case 'help':
      io.stdout(USAGE);
      return 0;
    case 'version':
      io.stdout(`feltctl ${daemonVersion()}\n`);
      return 0;
    case 'config-get':
      return withStore(command, deps, (store) => configGet(store, command.etcd.prefix, io));
    case 'config-set':
      return withStore(command, deps, (store) =>
        configSet(store, command.etcd.prefix, command.source, command.dryRun, io),
      );
    case 'leases':
      return withStore(command, deps, (store) => leases(store, command.etcd.prefix, command.output, io));
    case 'status':
      return status(command.metricsAddr, command.timeoutMs, command.output, io);
  }
}

/** Runs feltctl; resolves with the process exit code (never throws for expected failures). */
export async function runFeltctl(argv: readonly string[], deps: Partial<FeltctlDeps> = {}): Promise<number> {
  const full: FeltctlDeps = { io: processIo, env: process.env, openStore: openEtcdStore, ...deps };
  try {
    return await execute(parseCommandLine(argv, full.env), full);
  } catch (error) {
    if (error instanceof FeltctlError) {
      full.io.stderr(`feltctl: ${error.message} [${error.code}]\n`);
      return error.exitCode;
    }
    full.io.stderr(`feltctl: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
