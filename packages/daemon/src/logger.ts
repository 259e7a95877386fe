// JSON-lines logger (pino) with level names instead of numbers; synchronous stdout so a crash or
// a fast exit never loses the last lines.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './config/values.js';

export type DaemonLogger = Logger;

export function createLogger(level: LogLevel, destination?: DestinationStream): DaemonLogger {
  return pino(
    {
      name: 'feltd',
      level,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
