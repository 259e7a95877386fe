// Flannel's network config (`<prefix>/config`): parsing, defaults and validation as in Flannel's
// pkg/subnet/config.go, restricted to what felt implements (IPv4; udp, vxlan and ipip backends).
import { RegistryError } from './errors.js';
import { goField, goKey, isJsonObject, type JsonObject } from './json-fields.js';
import { cidrOf, type ParsedCidr, parseCidr } from './subnet-math/cidr.js';
import { blockSize, formatIpv4, parseIpv4 } from './subnet-math/ipv4.js';
import type { BackendConfig, BackendType, NetworkConfig } from './types.js';

const BACKEND_TYPES: readonly BackendType[] = ['udp', 'vxlan', 'ipip'];
const DEFAULT_PORT: Record<BackendType, number> = { udp: 8285, vxlan: 8472, ipip: 0 };
const MAX_VNI = 0xffffff;

function bad(field: string, message: string): RegistryError {
  return new RegistryError('REGISTRY_BAD_CONFIG', `network config: ${message}`, { field });
}

/** Unsigned integer field; undefined when absent (or 0, which Go cannot tell from absent). */
function optionalUint(obj: JsonObject, field: string, path: string, max: number): number | undefined {
  const value = goField(obj, field);
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw bad(path, `${path} must be an integer between 0 and ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalBool(obj: JsonObject, field: string): boolean | undefined {
  const value = goField(obj, field);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw bad(field, `${field} must be true or false`);
  return value;
}

function parseNetwork(obj: JsonObject): ParsedCidr {
  const value = goField(obj, 'Network');
  if (value === undefined || value === null || value === '') {
    throw bad('Network', 'Network is missing; set it to the overlay CIDR, e.g. "Network": "10.244.0.0/16"');
  }
  const parsed = typeof value === 'string' ? parseCidr(value, { mask: true }) : null;
  if (parsed === null) {
    throw bad('Network', `Network ${JSON.stringify(value)} is not an IPv4 CIDR like "10.244.0.0/16"`);
  }
  return parsed;
}

/** Flannel's rule: /24 per host when the network is /22 or larger, else network prefix + 2. */
function resolveSubnetLen(obj: JsonObject, network: ParsedCidr): number {
  const explicit = optionalUint(obj, 'SubnetLen', 'SubnetLen', 32);
  if (explicit !== undefined) {
    if (explicit > 30) throw bad('SubnetLen', `SubnetLen ${explicit} is larger than 30; use 30 or less`);
    if (explicit < network.prefixLength + 2) {
      throw bad(
        'SubnetLen',
        `SubnetLen ${explicit} leaves room for fewer than four subnets in /${network.prefixLength}; ` +
          `use at least ${network.prefixLength + 2}`,
      );
    }
    return explicit;
  }
  if (network.prefixLength > 28) {
    throw bad(
      'Network',
      `Network /${network.prefixLength} is too small; use /28 or larger, or set SubnetLen explicitly`,
    );
  }
  return network.prefixLength <= 22 ? 24 : network.prefixLength + 2;
}

function resolveBound(
  obj: JsonObject,
  field: 'SubnetMin' | 'SubnetMax',
  network: ParsedCidr,
  subnetLen: number,
  fallback: number,
): number {
  const value = goField(obj, field);
  if (value === undefined || value === null || value === '' || value === '0.0.0.0') return fallback;
  const address = typeof value === 'string' ? parseIpv4(value) : null;
  if (address === null) throw bad(field, `${field} ${JSON.stringify(value)} is not an IPv4 address`);
  const networkEnd = network.base + blockSize(network.prefixLength);
  if (address < network.base || address >= networkEnd) {
    throw bad(field, `${field} ${value} is outside Network ${network.cidr}`);
  }
  if (address % blockSize(subnetLen) !== 0) {
    const aligned = formatIpv4(cidrOf(address, subnetLen).base);
    throw bad(field, `${field} ${value} is not on a /${subnetLen} boundary (SubnetLen); use e.g. ${aligned}`);
  }
  return address;
}

function parseBackend(obj: JsonObject): BackendConfig {
  const key = goKey(obj, 'Backend');
  // Flannel picks udp when Backend is absent (parseBackendType), although its docs say vxlan.
  if (key === undefined || obj[key] === null) return { type: 'udp', vni: 0, port: DEFAULT_PORT.udp, raw: {} };
  const raw = obj[key];
  if (!isJsonObject(raw)) throw bad('Backend', 'Backend must be an object like {"Type": "vxlan"}');
  const typeValue = goField(raw, 'Type');
  if (typeof typeValue !== 'string' || typeValue === '') {
    throw bad('Backend.Type', `Backend.Type is missing; set it to one of ${BACKEND_TYPES.join(', ')}`);
  }
  const type = typeValue.toLowerCase() as BackendType;
  if (!BACKEND_TYPES.includes(type)) {
    throw bad(
      'Backend.Type',
      `Backend.Type ${JSON.stringify(typeValue)} is not supported by felt; use one of ${BACKEND_TYPES.join(', ')}`,
    );
  }
  const vni = type === 'vxlan' ? (optionalUint(raw, 'VNI', 'Backend.VNI', MAX_VNI) ?? 1) : 0;
  const port = type === 'ipip' ? 0 : (optionalUint(raw, 'Port', 'Backend.Port', 65535) ?? DEFAULT_PORT[type]);
  return { type, vni, port, raw };
}

/** Parses and validates the JSON text of `<prefix>/config`; throws RegistryError REGISTRY_BAD_CONFIG. */
export function parseNetworkConfig(json: string): NetworkConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw new RegistryError(
      'REGISTRY_BAD_CONFIG',
      `network config is not valid JSON: ${(err as Error).message}`,
      {
        field: '(document)',
        cause: err,
      },
    );
  }
  if (!isJsonObject(doc)) {
    throw bad('(document)', 'network config must be a JSON object like {"Network": "10.244.0.0/16"}');
  }
  if (optionalBool(doc, 'EnableIPv4') === false) {
    throw bad('EnableIPv4', 'EnableIPv4 false is not supported by felt (IPv4 only); remove it');
  }
  if (optionalBool(doc, 'EnableIPv6') === true) {
    throw bad('EnableIPv6', 'EnableIPv6 is not supported by felt yet; remove it or set it to false');
  }
  const network = parseNetwork(doc);
  const subnetLen = resolveSubnetLen(doc, network);
  const size = blockSize(subnetLen);
  const networkEnd = network.base + blockSize(network.prefixLength);
  // Defaults skip the first subnet (its .0 would be the network address) and include the last.
  const subnetMin = resolveBound(doc, 'SubnetMin', network, subnetLen, network.base + size);
  const subnetMax = resolveBound(doc, 'SubnetMax', network, subnetLen, networkEnd - size);
  if (subnetMin > subnetMax) {
    throw bad('SubnetMin', `SubnetMin ${formatIpv4(subnetMin)} is above SubnetMax ${formatIpv4(subnetMax)}`);
  }
  const { base: _base, ...networkPublic } = network;
  return {
    network: networkPublic,
    subnetLen,
    subnetMin: formatIpv4(subnetMin),
    subnetMax: formatIpv4(subnetMax),
    backend: parseBackend(doc),
    raw: doc,
  };
}

/** The config as Flannel JSON with every default written out (what `feltctl config set` stores). */
export function formatNetworkConfig(config: NetworkConfig): string {
  const backend: JsonObject = {};
  const canonical = ['Type', 'VNI', 'Port'];
  for (const [k, v] of Object.entries(config.backend.raw)) {
    if (!canonical.some((c) => c.toLowerCase() === k.toLowerCase())) backend[k] = v;
  }
  const out: JsonObject = {
    Network: config.network.cidr,
    SubnetLen: config.subnetLen,
    SubnetMin: config.subnetMin,
    SubnetMax: config.subnetMax,
    Backend: {
      Type: config.backend.type,
      ...(config.backend.type === 'vxlan' ? { VNI: config.backend.vni } : {}),
      ...(config.backend.type === 'ipip' ? {} : { Port: config.backend.port }),
      ...backend,
    },
  };
  return JSON.stringify(out);
}
