export { chooseSubnet, freeCandidates, normaliseSubnet, subnetFitsConfig } from './allocate.js';
export type { PeerWatcherApi, SubnetRegistryApi } from './api.js';
export { formatNetworkConfig, parseNetworkConfig } from './config.js';
export { isRegistryError, RegistryError, type RegistryErrorCode } from './errors.js';
export { createEtcdClient } from './etcd-client.js';
export { formatLeaseValue, parseLeaseValue, vxlanDataOf } from './lease-json.js';
export { SubnetRegistry } from './registry.js';
export { parseSubnetKey, subnetKey } from './subnet-math/cidr.js';
export type * from './types.js';
