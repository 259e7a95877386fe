export {
  type LabelSet,
  oncePerScrape,
  registerScrapeMetric,
  type Sample,
  type ScrapeMetricSpec,
} from './collector.js';
export * from './enums.js';
export { emptyBuckets, histogramSamples } from './histogram.js';
export { createMetrics, DEFAULT_MAX_PEERS, type FeltMetrics, type MetricsOptions } from './metrics.js';
export { type ExposedSample, parseExposition } from './parse.js';
export { OTHER_PEER, PeerLabeller, type PeerLabelling, type PeerTotals } from './peer-labels.js';
export { UNKNOWN_ERROR_CODE } from './registry-metrics.js';
export type * from './sources.js';
