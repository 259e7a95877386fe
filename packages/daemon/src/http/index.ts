export { HttpError, type HttpErrorCode } from './errors.js';
export { type EventLoopStatus, EventLoopWatch, type EventLoopWatchOptions } from './event-loop.js';
export { type HealthResponse, type LivenessCheck, livenessResponse, readinessResponse } from './health.js';
export {
  type HttpLogger,
  type HttpServers,
  type HttpServersOptions,
  type MetricsSource,
  startHttpServers,
} from './server.js';
