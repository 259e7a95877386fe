// Runs host tools (ip, iptables) with execFile and an argument array: no shell, no quoting issues.
import { execFile } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Never rejects for a non-zero exit; the caller decides what an exit code means. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

export function createCommandRunner(timeoutMs = 10_000): CommandRunner {
  return (command, args) =>
    new Promise((resolve, reject) => {
      execFile(command, [...args], { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          // Not an exit status: the tool is missing (ENOENT) or was killed by the timeout.
          if (error.killed)
            resolve({ code: -1, stdout, stderr: `${command} timed out after ${timeoutMs} ms` });
          else
            reject(
              Object.assign(new Error(`cannot run ${command}: ${error.message}`), { code: 'DAEMON_EXEC' }),
            );
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      });
    });
}

/** Pino-compatible logger subset used across the daemon. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
