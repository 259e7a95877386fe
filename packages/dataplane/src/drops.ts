/**
 * Drop reasons as small integers for the hot path (indices into DROP_REASONS) and the two directions.
 * Decoders return -(reason + 1) so that any negative result is a drop.
 */
import { DROP_REASONS, type DropReason } from './api.js';

function reason(name: DropReason): number {
  return DROP_REASONS.indexOf(name);
}

export const DROP_MALFORMED = reason('malformed');
export const DROP_NOT_IPV4 = reason('not_ipv4');
export const DROP_NO_ROUTE = reason('no_route');
export const DROP_OWN_SUBNET = reason('own_subnet');
export const DROP_TTL_EXCEEDED = reason('ttl_exceeded');
export const DROP_TOO_BIG = reason('too_big');
export const DROP_BAD_VXLAN_HEADER = reason('bad_vxlan_header');
export const DROP_WRONG_VNI = reason('wrong_vni');
export const DROP_WRONG_DST_MAC = reason('wrong_dst_mac');
export const DROP_BAD_ETHERTYPE = reason('bad_ethertype');
export const DROP_UNKNOWN_PEER = reason('unknown_peer');
export const DROP_SPOOFED_SOURCE = reason('spoofed_source');
export const DROP_POOL_EXHAUSTED = reason('pool_exhausted');
export const DROP_QUEUE_FULL = reason('queue_full');
export const DROP_SOCKET_ERROR = reason('socket_error');
export const DROP_TUN_WRITE_ERROR = reason('tun_write_error');
export const DROP_BAD_INNER_CHECKSUM = reason('bad_inner_checksum');
export const DROP_BAD_SUPER_PACKET = reason('bad_super_packet');

export const DIRECTION_TX = 0;
export const DIRECTION_RX = 1;

/** The negative code a decoder returns for a drop reason. */
export function dropCode(reasonIndex: number): number {
  return -(reasonIndex + 1);
}

/** The drop reason index of a negative decoder result. */
export function reasonOf(code: number): number {
  return -code - 1;
}
