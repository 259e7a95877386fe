// Per-byte work for TUN offloads (IFF_VNET_HDR): turning a super-packet read from the TUN into
// ordinary packets every receiver accepts. Pure functions on byte ranges, no N-API, so they are easy to
// test and to reuse from other entry points.
#pragma once

#include <cstddef>
#include <cstdint>

namespace netio {

// struct virtio_net_hdr (10 bytes, little-endian on every platform we build for).
constexpr size_t kVnetHeaderLength = 10;
constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0;
constexpr uint8_t kGsoTcpV4 = 1;
constexpr uint8_t kGsoTcpV6 = 4;
constexpr uint8_t kGsoUdpL4 = 5;

struct SplitResult {
  int segments;     // >= 1 when split; 0 when the packet was not GSO (finished in place); < 0: -errno
  uint32_t stride;  // bytes from one output segment's start to the next (headroom + full segment)
  uint32_t total;   // bytes used in the output, from its start to the end of the last segment
};

// `packet` starts with the virtio_net_hdr. Not GSO: completes a NEEDS_CSUM checksum in place and returns
// segments = 0. GSO (TCPv4/TCPv6/UDP_L4): writes each segment at out + i * stride + headroom with IP
// lengths, IPv4 id and header checksum, TCP sequence numbers and flags, UDP length and a full L4
// checksum. Fails with -EINVAL (malformed or unsupported) or -ENOBUFS (output too small).
SplitResult SplitGso(uint8_t* packet, size_t length, uint8_t* out, size_t capacity, size_t headroom);

}  // namespace netio
