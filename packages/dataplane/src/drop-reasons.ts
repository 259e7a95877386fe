// Imports nothing: @felt/dataplane/drops exposes this list without loading the data plane's runtime
// (and its native addon), e.g. for @felt/metrics to initialise its drop counters.

/**
 * Why a packet was dropped. Fixed set, snake_case, usable as a Prometheus label value.
 * Direction tx = read from the TUN towards the wire, rx = received from the wire towards the TUN.
 */
export const DROP_REASONS = [
  /** Too short, IP version/header length/total length inconsistent with the bytes received. */
  'malformed',
  /** Not IPv4 (the overlay is IPv4 only). */
  'not_ipv4',
  /** tx: no peer owns the destination (ICMP Destination Unreachable written back into the TUN). */
  'no_route',
  /** tx: destination inside our own subnet: never sent to the wire. */
  'own_subnet',
  /** tx: TTL reached zero (ICMP Time Exceeded written back into the TUN). */
  'ttl_exceeded',
  /** tx: packet larger than the tunnel MTU (ICMP Fragmentation Needed when DF is set). */
  'too_big',
  /** rx: VXLAN flags or reserved bits wrong. */
  'bad_vxlan_header',
  /** rx: VXLAN VNI is not ours. */
  'wrong_vni',
  /** rx: inner Ethernet destination is not our VTEP MAC (nor broadcast). */
  'wrong_dst_mac',
  /** rx: inner EtherType is not IPv4. */
  'bad_ethertype',
  /** rx: the underlay sender is not a known peer. */
  'unknown_peer',
  /** rx: the inner source address is outside the sender's leased subnet. */
  'spoofed_source',
  /** No free packet buffer. */
  'pool_exhausted',
  /** tx: an ICMP error we generated found the per-batch ICMP queue full (more than a batch of them). */
  'queue_full',
  /** The underlay socket refused the packet (per-message error). */
  'socket_error',
  /** The TUN device refused the packet (per-message error). */
  'tun_write_error',
  /** rx: inner TCP/UDP checksum wrong (and not a partial one to complete): the kernel would drop it. */
  'bad_inner_checksum',
  /** tx (offloads): a super-packet from the TUN that cannot be segmented (malformed, too many segments). */
  'bad_super_packet',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
