// Reads and writes /proc/sys entries of the namespace the daemon runs in (a port, so tests can reach
// another namespace's /proc/sys).
import { readFile, writeFile } from 'node:fs/promises';

export interface ProcSys {
  /** The entry's trimmed value; null when it does not exist (e.g. a kernel without IPv6). */
  read(path: string): Promise<string | null>;
  write(path: string, value: string): Promise<void>;
}

export const localProcSys: ProcSys = {
  async read(path) {
    try {
      return (await readFile(path, 'utf8')).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  },
  write: (path, value) => writeFile(path, `${value}\n`),
};
