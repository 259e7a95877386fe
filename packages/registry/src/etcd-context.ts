// What the acquire/renew/watch steps share: the client, key layout, counters and logger.
import type { Etcd3 } from 'etcd3';
import type { EtcdCallHook, RegistryLogger, RegistryStats } from './types.js';

export interface EtcdContext {
  client: Etcd3;
  /** e.g. '/coreos.com/network' (no trailing slash). */
  prefix: string;
  /** e.g. '/coreos.com/network/subnets/' */
  subnets: string;
  stats: RegistryStats;
  logger: RegistryLogger;
  onEtcdCall?: EtcdCallHook | undefined;
}
