// Flannel's lease value (LeaseAttrs in pkg/lease/lease.go): field order, `PublicIPv6: null` always
// written, empty BackendType / BackendData omitted. Decoding is case-insensitive like Go's.
import { RegistryError } from './errors.js';
import { goField, isJsonObject } from './json-fields.js';
import { parseIpv4 } from './subnet-math/ipv4.js';
import type { LeaseAttrs, VxlanBackendData } from './types.js';

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function formatLeaseValue(attrs: LeaseAttrs): string {
  const out: Record<string, unknown> = { PublicIP: attrs.PublicIP, PublicIPv6: attrs.PublicIPv6 ?? null };
  if (attrs.BackendType) out.BackendType = attrs.BackendType;
  if (attrs.BackendData !== undefined) out.BackendData = attrs.BackendData;
  if (attrs.BackendV6Data !== undefined) out.BackendV6Data = attrs.BackendV6Data;
  return JSON.stringify(out);
}

function badLease(message: string): RegistryError {
  return new RegistryError('REGISTRY_BAD_LEASE', `lease value: ${message}`);
}

function optionalObject(doc: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const value = goField(doc, field);
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw badLease(`${field} must be an object`);
  return value;
}

/** Parses a lease value written by Flannel or felt; throws REGISTRY_BAD_LEASE when malformed. */
export function parseLeaseValue(text: string): LeaseAttrs {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw badLease('not JSON');
  }
  if (!isJsonObject(doc)) throw badLease('not a JSON object');
  const publicIp = goField(doc, 'PublicIP');
  if (typeof publicIp !== 'string' || parseIpv4(publicIp) === null) {
    throw badLease(`PublicIP ${JSON.stringify(publicIp)} is not an IPv4 address`);
  }
  const publicIpv6 = goField(doc, 'PublicIPv6');
  if (publicIpv6 !== undefined && publicIpv6 !== null && typeof publicIpv6 !== 'string') {
    throw badLease('PublicIPv6 must be a string or null');
  }
  const backendType = goField(doc, 'BackendType');
  if (backendType !== undefined && backendType !== null && typeof backendType !== 'string') {
    throw badLease('BackendType must be a string');
  }
  const attrs: LeaseAttrs = { PublicIP: publicIp, PublicIPv6: publicIpv6 ?? null };
  if (backendType) attrs.BackendType = backendType;
  const backendData = optionalObject(doc, 'BackendData');
  if (backendData !== undefined) attrs.BackendData = backendData;
  const backendV6Data = optionalObject(doc, 'BackendV6Data');
  if (backendV6Data !== undefined) attrs.BackendV6Data = backendV6Data;
  return attrs;
}

/** The vxlan part of a lease, or null when it is not a well-formed vxlan lease. */
export function vxlanDataOf(attrs: LeaseAttrs): VxlanBackendData | null {
  if (attrs.BackendType !== 'vxlan' || attrs.BackendData === undefined) return null;
  const vni = goField(attrs.BackendData, 'VNI');
  const mac = goField(attrs.BackendData, 'VtepMAC');
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0 || vni > 0xffffff) return null;
  if (typeof mac !== 'string' || !MAC.test(mac)) return null;
  return { VNI: vni, VtepMAC: mac.toLowerCase() };
}
