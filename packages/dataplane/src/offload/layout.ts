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

/**
 * Pool slots the send loop reads into per batch (each TUN read up to 64 KiB), and datagrams per recvmmsg
 * (each up to 64 segments).
 */
export const OFFLOAD_READS = 16;

/**
 * Most TUN reads per send batch: small packets are read back to back into the room a slot has left
 * after them (as long as it still holds a 64 KiB super-packet), so one batch of small packets fills
 * up to GSO_MAX_SEGMENTS-segment messages without holding more slots.
 */
export const OFFLOAD_BATCH_READS = 64;

/** Room one TUN read must have: a 64 KiB super-packet and its virtio-net header (10 bytes), rounded up. */
export const TUN_READ_ROOM = 65_536 + 64;

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
  /** Split targets, one per read; also completeChecksums' records before that (send). */
  targets: OFFLOAD_BATCH_READS,
  /** UDP messages (send). */
  sends: 2 * OFFLOAD_BATCH_READS,
  /** recvmmsg datagrams (receive). */
  receives: 2 * OFFLOAD_BATCH_READS + OFFLOAD_OUT_RECORDS,
  /** Inner packets for the TUN (receive). */
  writes: 2 * OFFLOAD_BATCH_READS + OFFLOAD_READS + OFFLOAD_OUT_RECORDS,
  /** ICMP errors the send loop generates, copied from the shared ICMP queue for a coalescing write. */
  icmp: 2 * OFFLOAD_BATCH_READS + OFFLOAD_READS + 2 * OFFLOAD_OUT_RECORDS,
} as const;

/** Linux UDP_MAX_SEGMENTS (older kernels; newer allow 128) and the largest IPv4 UDP payload. */
export const GSO_MAX_SEGMENTS = 64;
export const GSO_MAX_BYTES = 65_507;
