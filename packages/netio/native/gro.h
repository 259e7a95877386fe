// Coalescing before a TUN write (IFF_VNET_HDR): consecutive TCP segments of one flow (and UDP datagrams
// when the TUN accepted USO) become one super-packet with a virtio_net_hdr, so one write delivers up to
// 64 KiB. Rules follow wireguard-go's: same flow and header fields, adjacent sequence numbers, equal
// segment sizes (the last may be shorter), every checksum verified before merging, never reordered.
// Pure functions on byte ranges, no N-API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace netio {

// What coalescing needs to know about one IP packet.
struct GroPacket {
  const uint8_t* data = nullptr;
  uint32_t length = 0;
  bool l4 = false;         // IPv4 without options or fragments (valid header checksum) or IPv6, then TCP/UDP
  bool mergeable = false;  // l4, a kind that merges (TCP ACK with payload; UDP with USO), checksums valid
  bool ipv6 = false;
  bool tcp = false;
  uint32_t ipHeader = 0;
  uint32_t headers = 0;  // IP + L4 header bytes
  uint32_t payload = 0;
  uint32_t seq = 0;
  uint8_t tcpFlags = 0;
};

// `verified`: the caller already checked the L4 checksum (Tun.completeChecksums), or an outer checksum
// covered the packet, so it is not summed. IPv4 UDP without a checksum is never `l4` (nothing to offload).
GroPacket InspectForGro(const uint8_t* data, size_t length, bool udpV4, bool udpV6, bool verified = false);

// One super-packet being built from a head packet and the packets appended to it.
class GroGroup {
 public:
  static constexpr uint32_t kMaxPackets = 64;
  // Room for the virtio header plus the largest IP + TCP header.
  static constexpr size_t kMaxHeader = 10 + 40 + 60;

  void Start(const GroPacket& head);
  // Appends `next` when it continues this flow; false leaves the group unchanged.
  bool TryAppend(const GroPacket& next);
  uint32_t packets() const { return packets_; }
  uint32_t headers() const { return head_.headers; }
  // The head parsed as TCP/UDP, so BuildHeader can describe it (alone: NEEDS_CSUM without GSO).
  bool describable() const { return head_.l4; }
  // A lone verified TCP packet longer than `mtu` (a peer's unsegmented super-packet): write it as TSO.
  bool Oversized(uint32_t mtu) const {
    return packets_ == 1 && head_.mergeable && head_.tcp && mtu > head_.headers && head_.length > mtu;
  }
  // Writes virtio_net_hdr (NEEDS_CSUM) + the head's headers rewritten for the merged length, the L4
  // checksum field holding the pseudo-header sum; returns the byte count. gso_size is `segmentSize`, or
  // the head's payload size when 0; a lone packet with `segmentSize` 0 goes without GSO (the kernel
  // takes its checksum as partial: trusted on local delivery, computed when it leaves through a device).
  size_t BuildHeader(uint8_t* out, uint32_t segmentSize = 0) const;

 private:
  GroPacket head_;
  uint32_t packets_ = 0;
  uint32_t totalPayload_ = 0;
  bool closed_ = false;  // a short segment or PSH ended the run
  uint8_t lastFlags_ = 0;
};

}  // namespace netio
