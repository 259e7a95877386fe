export { type Command, parseCommandLine, USAGE } from './args.js';
export { FeltctlError, type FeltctlErrorCode } from './errors.js';
export { type FeltctlDeps, runFeltctl } from './main.js';
