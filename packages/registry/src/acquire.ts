// Getting a subnet, in Flannel's order: our previous lease (same PublicIP), then the subnet named by the
// previous subnet.env if free, then a random one among the lowest free. Unlike Flannel, losing a race
// (another node created the key first) retries with a fresh listing instead of giving up.
import { chooseSubnet, isFree, normaliseSubnet, subnetFitsConfig } from './allocate.js';
import { RegistryError } from './errors.js';
import type { EtcdContext } from './etcd-context.js';
import { formatLeaseValue } from './lease-json.js';
import { createLease, deleteIfUnchanged, takeOverLease } from './lease-ops.js';
import type { StoredLease } from './lease-record.js';
import { listLeases } from './list.js';
import { subnetKey } from './subnet-math/cidr.js';
import { parseIpv4 } from './subnet-math/ipv4.js';
import type { LeaseAttrs, NetworkConfig } from './types.js';

/** Lost races tolerated per acquire; each retry re-lists, so the range fills up and the loop ends. */
const MAX_ATTEMPTS = 64;

export interface AcquirePlan {
  publicIp: string;
  attrs: LeaseAttrs;
  previousSubnet: string | null;
  config: NetworkConfig;
  ttlSeconds: number;
  signal?: AbortSignal;
}

export function leaseAttrsFor(publicIp: string, backendType?: string, backendData?: Record<string, unknown>) {
  if (parseIpv4(publicIp) === null) {
    throw new RegistryError(
      'REGISTRY_BAD_REQUEST',
      `publicIp ${JSON.stringify(publicIp)} is not an IPv4 address`,
    );
  }
  const attrs: LeaseAttrs = { PublicIP: publicIp, PublicIPv6: null };
  if (backendType) attrs.BackendType = backendType;
  if (backendData !== undefined) attrs.BackendData = backendData;
  return attrs;
}

function leaseFor(ctx: EtcdContext, subnet: string, attrs: LeaseAttrs) {
  return { subnet, key: `${ctx.subnets}${subnetKey(subnet)}`, attrs, expiresAt: null };
}

export async function acquireSubnet(ctx: EtcdContext, plan: AcquirePlan): Promise<StoredLease> {
  const value = formatLeaseValue(plan.attrs);
  const previous = plan.previousSubnet === null ? null : normaliseSubnet(plan.previousSubnet);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (plan.signal?.aborted) throw new RegistryError('REGISTRY_ABORTED', 'acquire aborted');
    const listing = await listLeases(ctx);
    const taken = new Set<string>([
      ...listing.leases.map((l) => l.lease.subnet),
      ...listing.malformed.flatMap((m) => (m.subnet === null ? [] : [m.subnet])),
    ]);

    const ours = listing.leases.filter((l) => l.lease.attrs.PublicIP === plan.publicIp);
    if (ours.length > 1) {
      ctx.logger.warn(
        { publicIp: plan.publicIp, subnets: ours.map((l) => l.lease.subnet) },
        'several leases carry our PublicIP; reusing the first that fits the config',
      );
    }
    const reusable = ours.find((l) => subnetFitsConfig(plan.config, l.lease.subnet));
    if (reusable !== undefined) {
      const got = await takeOverLease(
        ctx,
        { ...reusable, lease: { ...reusable.lease, attrs: plan.attrs } },
        value,
        plan.ttlSeconds,
      );
      if (got !== null) return got;
      continue;
    }
    const stale = ours.find((l) => !subnetFitsConfig(plan.config, l.lease.subnet));
    if (stale !== undefined) {
      ctx.logger.info(
        { subnet: stale.lease.subnet },
        'deleting our previous lease: it does not fit the network config',
      );
      await deleteIfUnchanged(ctx, stale);
      continue;
    }

    if (previous !== null && isFree(previous, taken) && subnetFitsConfig(plan.config, previous)) {
      const got = await createLease(ctx, leaseFor(ctx, previous, plan.attrs), value, plan.ttlSeconds);
      if (got !== null) return got;
      continue;
    }

    const subnet = chooseSubnet(plan.config, taken);
    if (subnet === null) {
      throw new RegistryError(
        'REGISTRY_OUT_OF_SUBNETS',
        `out of subnets: all /${plan.config.subnetLen} subnets between ${plan.config.subnetMin} and ` +
          `${plan.config.subnetMax} in ${plan.config.network.cidr} are leased (${taken.size} leases); ` +
          'widen Network/SubnetMin/SubnetMax or delete stale leases',
      );
    }
    const got = await createLease(ctx, leaseFor(ctx, subnet, plan.attrs), value, plan.ttlSeconds);
    if (got !== null) return got;
    ctx.logger.debug({ subnet, attempt }, 'another node created this subnet first; retrying');
  }
  throw new RegistryError('REGISTRY_ETCD', `gave up acquiring a subnet after losing ${MAX_ATTEMPTS} races`);
}
