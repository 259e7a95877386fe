/**
 * The shape of @felt/netio: the only file that describes what the native addon does.
 *
 * Memory convention (zero-copy, one JS→native crossing per batch):
 * - JavaScript owns one large region (`memory`, a Uint8Array over a SharedArrayBuffer or ArrayBuffer)
 *   divided into slots, and one `meta` Int32Array of message records. A handle is attached to both
 *   once (`attach`), and native code keeps the backing-store pointers. Batch calls then pass only two
 *   small integers: the first record and the number of records.
 * - A record is MSG_STRIDE int32 words at `meta[record * MSG_STRIDE]`:
 *     MSG_OFFSET   byte offset of the packet in `memory`
 *     MSG_LENGTH   in: bytes to write/send, or the capacity to read/receive into;
 *                  out: bytes read/received/written/sent, or -errno when that message failed
 *     MSG_ADDR..+3 peer address: IPv4 as one host-order uint32 (stored as int32) in MSG_ADDR;
 *                  IPv6 as four host-order 32-bit words MSG_ADDR..MSG_ADDR+3;
 *                  Tun.writeInbound: InnerChecksum result in MSG_ADDR
 *     MSG_PORT     peer UDP port
 *     MSG_SEGMENT  UDP send: UDP_SEGMENT size for this message (0 = none), or SEND_CONTINUES;
 *                  UDP receive: UDP_GRO segment size reported by the kernel (0 = not coalesced);
 *                  Tun.split target: segment stride; Tun.writeCoalesced: packets in that write;
 *                  Tun.writeInbound: in Inbound, out packets in that write (0 = bad, not written);
 *                  Tun.completeChecksums: InnerChecksum result
 * - Every batch call returns how many records it consumed, starting at `first`. A consumed record
 *   holds its result in MSG_LENGTH (bytes, or -errno for a per-message failure such as EMSGSIZE).
 *   Records after the consumed ones were not attempted because the kernel would block (EAGAIN):
 *   wait for readiness (Poller) and call again. Errors that break the handle itself (closed,
 *   device gone) throw a NetioError.
 */

export const MSG_STRIDE = 8;
export const MSG_OFFSET = 0;
export const MSG_LENGTH = 1;
export const MSG_ADDR = 2;
export const MSG_PORT = 6;
export const MSG_SEGMENT = 7;

/**
 * UdpSocket.send: MSG_SEGMENT of a record whose bytes continue the message of the record before it
 * (scatter-gather; see UdpSocket.send).
 */
export const SEND_CONTINUES = -1;

/** Most records one batch call accepts (native scratch space is preallocated for this many). */
export const MAX_BATCH = 1024;

/** TUNSETOFFLOAD flags from linux/if_tun.h. */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** Per-record results of Tun.completeChecksums (in MSG_SEGMENT) and Tun.writeInbound (in MSG_ADDR). */
export const InnerChecksum = { VALID: 0, COMPLETED: 1, BAD: -1 } as const;

/**
 * Tun.writeInbound, MSG_SEGMENT in: what is known of an inner packet's integrity. COVERED: the whole
 * datagram it came in was covered by an outer UDP checksum the kernel verified, or never left this host
 * (a datagram the socket reported with a UDP_GRO segment size: GRO merges only datagrams with a valid,
 * non-zero checksum, and UDP_SEGMENT sends always carry one). CHECK: anything else, e.g. from a kernel
 * vxlan peer, which sends a zero outer checksum.
 */
export const Inbound = { CHECK: 0, COVERED: 1 } as const;

/** Size of struct virtio_net_hdr (without num_buffers), prepended to every packet with vnetHeader. */
export const VNET_HDR_LEN = 10;

export interface TunOptions {
  /** Requested interface name (may contain %d); the kernel picks one when absent. */
  name?: string;
  /** IFF_VNET_HDR: every read/write carries a virtio_net_hdr in front of the IP packet. */
  vnetHeader?: boolean;
  /** TUNSETOFFLOAD flags (TunOffload), only with vnetHeader; `offloads` on the handle says what was accepted. */
  offloads?: number;
  /** IFF_MULTI_QUEUE: several handles (queues) may attach to the same device name. */
  multiQueue?: boolean;
  /** TUNSETPERSIST: the device outlives this handle, so a restarted daemon can attach again. */
  persist?: boolean;
}

export interface Tun {
  /** The actual interface name the kernel gave. */
  readonly name: string;
  readonly fd: number;
  readonly vnetHeader: boolean;
  /** The TUNSETOFFLOAD flags the kernel accepted (0 without vnetHeader). */
  readonly offloads: number;
  /** Gives native code the memory region and record array used by every later call. */
  attach(memory: Uint8Array, meta: Int32Array): void;
  /** Non-blocking reads into records first..first+count-1 until EAGAIN; returns records filled. */
  read(first: number, count: number): number;
  /** One write per record; returns records consumed (stops early only on EAGAIN). */
  write(first: number, count: number): number;
  /**
   * Offloads (vnetHeader): writes records first..first+count-1, each a plain IP packet (no virtio header
   * in the record), coalescing runs of consecutive records that continue one TCP flow (and UDP flow when
   * the TUN accepted USO4/USO6) into one super-packet per write: same addresses, ports and header fields,
   * adjacent sequence numbers, equal sizes except a shorter last, valid checksums; never reordered, at most
   * 64 per run. Other packets are written alone. Records are not modified except for results:
   * MSG_LENGTH = the record's own length (or -errno of its write), MSG_SEGMENT = how many records went
   * out in that write (1 = alone). Returns records consumed (stops early only on EAGAIN).
   */
  writeCoalesced(first: number, count: number): number;
  /**
   * What writeCoalesced would write, into memory instead of the TUN (tests, tools): the writes one after
   * another (virtio_net_hdr + IP packet each) into record `target`'s range (MSG_OFFSET, capacity
   * MSG_LENGTH); then the target's MSG_LENGTH = bytes used, MSG_SEGMENT = writes. Records get MSG_SEGMENT
   * as with writeCoalesced. Returns records consumed (fewer when the target is full).
   */
  coalesceInto(first: number, count: number, target: number): number;
  /**
   * Offloads (vnetHeader): the receive path's TUN write, checksums and coalescing in one call, records
   * first..first+count-1 holding plain IP packets from a tunnel, MSG_SEGMENT in = Inbound, MSG_ADDR in = 0.
   * A CHECK packet is first verified (a partial checksum completed) as by completeChecksums; a COVERED one
   * is not summed at all. Then as writeCoalesced (without summing again), except that a lone TCP/UDP
   * packet goes out with NEEDS_CSUM (the checksum field rewritten to the pseudo-header sum) so the kernel
   * does not sum it again either; it computes the checksum if it forwards the packet out of a device.
   * Results per consumed record: MSG_LENGTH = own length or -errno of its write; MSG_SEGMENT = packets in
   * that write; MSG_ADDR = InnerChecksum (COVERED ones VALID). A BAD packet is consumed without being
   * written: MSG_ADDR = BAD, MSG_SEGMENT = 0, MSG_LENGTH unchanged. Returns records consumed (stops early
   * only on EAGAIN; call again with the rest, their MSG_SEGMENT in unchanged).
   * `mtu` (optional, 0 = off): a lone TCP packet longer than it is written as a TSO super-packet with
   * segments of `mtu` bytes, so the kernel segments it where it must (forwarding). Such packets arrive
   * when a kernel vxlan peer's super-packet crosses a veth unsegmented.
   */
  writeInbound(first: number, count: number, mtu?: number): number;
  /**
   * Offloads (vnetHeader): finishes one packet as read, record `source` holding virtio_net_hdr + packet.
   * - Not GSO: completes a NEEDS_CSUM checksum in place and returns 0; the packet is at
   *   source offset + VNET_HDR_LEN.
   * - GSO (TCPv4, TCPv6, UDP_L4): splits it into N ordinary packets with full, valid IP and L4 headers
   *   and checksums, written into record `target`'s range (MSG_OFFSET, capacity MSG_LENGTH): segment i
   *   starts at offset + i * stride + headroom, `headroom` bytes free in front of each (room for a tunnel
   *   header, so the whole run can go out as one UDP_SEGMENT send). Sets the target's MSG_LENGTH to the
   *   bytes used and MSG_SEGMENT to the stride; returns N.
   * - A malformed or unsupported packet returns -EINVAL, a too small target -ENOBUFS (count and drop).
   * Record indices or ranges out of bounds, or overlapping source and target: NETIO_BAD_ARGUMENT.
   */
  split(source: number, target: number, headroom: number): number;
  /**
   * Inner checksums of packets received from a tunnel, records first..first+count-1 (plain IP packets;
   * any TUN mode). Verifies each TCP/UDP checksum; one that holds only the pseudo-header sum (a kernel
   * peer's CHECKSUM_PARTIAL that no NIC finished) is completed in place. Per record MSG_SEGMENT =
   * InnerChecksum (0 valid or nothing to check: not TCP/UDP, a fragment, IPv4 UDP without checksum;
   * 1 completed; -1 bad, the receiver would drop it). Returns how many records are not 0.
   */
  completeChecksums(first: number, count: number): number;
  /** Turns TUNSETPERSIST on or off for the device. */
  setPersist(persist: boolean): void;
  /** Closes the fd; the device goes away unless it is persistent. Idempotent. */
  close(): void;
}

/**
 * UdpOptions.reusePortSteering: a classic BPF program attached to the socket's SO_REUSEPORT group
 * (SO_ATTACH_REUSEPORT_CBPF) that returns, per received datagram, the index of the socket in the group:
 * - the inner IPv4 packet starts `innerOffset` bytes into the UDP payload (vxlan 22: VXLAN + Ethernet
 *   header; Flannel's udp backend 0);
 * - with K = 0x9e3779b1, all arithmetic on uint32, and (lo, hi) a pair of values in ascending order
 *   (so that both directions of a flow get the same index): h = lo_address * K + hi_address; for TCP
 *   and UDP packets that are not fragments h ^= lo_port << 16 | hi_port; index = ((h * K) >>> 16) %
 *   groupSize;
 * - an inner packet that is not IPv4, or a datagram too short for a field the program reads: index 0.
 * The program belongs to the group, not the socket: each open with this option attaches it again
 * (replacing the group's program; give every socket the same option). Indexes are the group's order:
 * bind order, except that closing a socket moves the last one into its place. The kernel falls back to
 * its own hash for an index the group does not have yet, so the sockets may bind one after another.
 * UDP GRO: a coalesced datagram goes to the socket its first segment picks.
 */
export interface ReusePortSteering {
  /** Where the inner IPv4 header starts in the UDP payload (0..65535). */
  innerOffset: number;
  /** Sockets the program spreads over (1..65535): the group's intended size. */
  groupSize: number;
}

export interface UdpOptions {
  family: 4 | 6;
  /** Local address to bind ('0.0.0.0' / '::' for any). */
  address: string;
  /** Local port (0 = ephemeral). */
  port: number;
  reusePort?: boolean;
  /**
   * With reusePort: steer each datagram to a socket of the SO_REUSEPORT group by the tunnelled (inner)
   * flow it carries instead of the kernel's hash of the outer addresses and ports, which sends everything
   * from one peer's single source port to one socket. See ReusePortSteering. `steered` on the handle says
   * whether the kernel took the program (without it the kernel's hash spreads the group).
   */
  reusePortSteering?: ReusePortSteering;
  /** SO_RCVBUF / SO_SNDBUF in bytes (the FORCE variants are tried first, as root). */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** Enables UDP_GRO on receive; `gro` on the handle says whether the kernel accepted it. */
  gro?: boolean;
}

export interface UdpSocket {
  readonly fd: number;
  readonly family: 4 | 6;
  /** The bound local port (useful with port 0). */
  readonly localPort: number;
  readonly gro: boolean;
  /** Whether UDP_SEGMENT (GSO) sends are supported on this socket (probed at open). */
  readonly gsoSupported: boolean;
  /** Whether reusePortSteering's program is attached (false when not asked for or refused). */
  readonly steered: boolean;
  /** SO_RCVBUF / SO_SNDBUF as the kernel reports them after setup (it doubles what was asked). */
  readonly recvBufferSize: number;
  readonly sendBufferSize: number;
  attach(memory: Uint8Array, meta: Int32Array): void;
  /** recvmmsg(MSG_DONTWAIT) into records; fills length, address, port, segment; returns records filled. */
  recv(first: number, count: number): number;
  /**
   * sendmmsg of records first..first+count-1; returns records consumed. A message is a head record
   * (offset, length, address, port, MSG_SEGMENT = UDP_SEGMENT size or 0) and the records right after it
   * whose MSG_SEGMENT is SEND_CONTINUES: their bytes follow the head's in the same message, in order (one
   * iovec each; their address and port are ignored). With UDP_SEGMENT the kernel cuts the concatenated
   * bytes every MSG_SEGMENT bytes, so separate packets go out as one GSO message only when every record
   * but the last is exactly that size (the last may be shorter); the receiver cannot tell it from one
   * super-packet. A message goes out whole or not at all: each of its records gets MSG_LENGTH = its own
   * length, or the message's -errno. A batch never stops inside a message; a batch that starts with a
   * SEND_CONTINUES record is NETIO_BAD_ARGUMENT.
   */
  send(first: number, count: number): number;
  close(): void;
}

/**
 * Bits passed to Poller callbacks. ERROR: the fd reported an error (e.g. POLLERR on a deleted TUN) and
 * the watcher stopped itself; the next read/write raises the matching NetioError. start() may be retried.
 */
export const PollEvents = { READABLE: 1, WRITABLE: 2, ERROR: 4 } as const;

/**
 * libuv readiness watcher on a file descriptor; the callback runs once per readiness event. At most one
 * Poller per fd per thread. Closing a Tun/UdpSocket closes the Pollers on its fd first.
 *
 * The callback is a plain call from the event loop, kept cheap for the per-packet latency path: `this`
 * is undefined and no async context (async_hooks, AsyncLocalStorage) is entered. Promise jobs and
 * process.nextTick callbacks it queues run later in the same loop turn (Node's check phase), before
 * that turn's setImmediate callbacks. A throw goes to 'uncaughtException', as from any Node callback.
 */
export interface Poller {
  /** Starts (or changes) watching for PollEvents bits. */
  start(events: number): void;
  /** Stops watching (back-pressure); start() resumes. */
  stop(): void;
  /** Releases the watcher. Idempotent. */
  close(): void;
}

/** Stable error codes carried by NetioError.code. */
export type NetioErrorCode =
  | 'NETIO_NO_TUN_DEVICE' // /dev/net/tun missing: load the tun module or mount the device
  | 'NETIO_PERMISSION_DENIED' // needs root or CAP_NET_ADMIN
  | 'NETIO_DEVICE_BUSY' // the interface name is in use by another device or another owner
  | 'NETIO_ADDRESS_IN_USE' // the UDP port is already bound
  | 'NETIO_BAD_ARGUMENT' // a call from JS with arguments out of range (offsets, lengths, records)
  | 'NETIO_CLOSED' // the handle was closed
  | 'NETIO_DEVICE_GONE' // the TUN device was deleted under us
  | 'NETIO_SYSCALL' // any other system call failure; see errno and syscall
  | 'NETIO_NOT_BUILT'; // the native addon file is missing: build it (the message lists the paths tried)
