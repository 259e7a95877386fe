/**
 * Specification constants (wire formats) and implementation constants (sizes and defaults).
 */

// Specification constants.
export const IPV4_HEADER_LEN = 20;
export const VXLAN_HEADER_LEN = 8;
export const ETHERNET_HEADER_LEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
export const IP_PROTOCOL_ICMP = 1;
export const IP_PROTOCOL_IPIP = 4;
/** RFC 7348: the I flag, the only flag Linux accepts without GBP/GPE. */
export const VXLAN_FLAG_VNI = 0x08;

/** Bytes each backend puts in front of the inner IP packet inside the underlay payload. */
export const TUNNEL_HEADER_LEN = {
  udp: 0,
  vxlan: VXLAN_HEADER_LEN + ETHERNET_HEADER_LEN,
  ipip: IPV4_HEADER_LEN,
} as const;

// Implementation constants.
/**
 * Bytes in front of the packet in every pool slot: the inner IP packet is read to slot + HEADROOM, a
 * 64-byte aligned offset. Tunnel headers (at most 22 bytes) are written in place in front of it, and a
 * 10–12 byte virtio-net header fits there too.
 */
export const HEADROOM = 128;
/** Default packet buffers per direction. */
export const DEFAULT_POOL_SLOTS = 256;
/** Default packets per batch. */
export const DEFAULT_BATCH_SIZE = 64;
/** Default peer capacity. */
export const DEFAULT_MAX_PEERS = 16384;
/** Routes outside the cluster network or not of the lease length (rare; scanned longest first). */
export const MAX_EXTRA_ROUTES = 256;
/** TTL of ICMP errors we originate. */
export const ICMP_TTL = 64;
