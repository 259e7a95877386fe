/**
 * Sizes of the offload data path (hotpath.md §5): 64 KiB super-packets through the TUN (virtio-net
 * header, TSO/USO on read, coalesced writes) and UDP GSO/GRO on the socket.
 */
import { TunOffload } from '@felt/netio';

/** What the TUN is asked for; USO (Linux 6.2+) is dropped by netio when the kernel refuses it. */
export const TUN_OFFLOADS =
  TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 | TunOffload.USO4 | TunOffload.USO6;

/**
 * Pool slot size with offloads: a 64 KiB super-packet read (+ virtio header + headroom), and also the
 * split target of one, whose segments each carry their own headers and tunnel header room (a 64 KiB
 * TCP super-packet at MSS 536 needs about 76 KiB).
 */
export const OFFLOAD_SLOT_SIZE = 96 * 1024;

/** TUN reads per batch (each up to 64 KiB), and datagrams per recvmmsg (each up to 64 segments). */
export const OFFLOAD_READS = 16;

/** Output records per direction: UDP messages of one send batch, or inner packets of one receive batch. */
export const OFFLOAD_OUT_RECORDS = 1024;

/** Records of the offload loops' own message array (see OffloadRecords), with `icmp` ICMP records. */
export function offloadRecordCount(icmp: number): number {
  return OffloadRecords.icmp + icmp;
}

/** Where each loop's records start in the offload message array. */
export const OffloadRecords = {
  /** TUN reads (send). */
  reads: 0,
  /** Split targets, one per read (send). */
  targets: OFFLOAD_READS,
  /** UDP messages (send). */
  sends: 2 * OFFLOAD_READS,
  /** recvmmsg datagrams (receive). */
  receives: 2 * OFFLOAD_READS + OFFLOAD_OUT_RECORDS,
  /** Inner packets for the TUN (receive). */
  writes: 3 * OFFLOAD_READS + OFFLOAD_OUT_RECORDS,
  /** ICMP errors the send loop generates, copied from the shared ICMP queue for a coalescing write. */
  icmp: 3 * OFFLOAD_READS + 2 * OFFLOAD_OUT_RECORDS,
} as const;

/** Linux UDP_MAX_SEGMENTS (older kernels; newer allow 128) and the largest IPv4 UDP payload. */
export const GSO_MAX_SEGMENTS = 64;
export const GSO_MAX_BYTES = 65_507;
