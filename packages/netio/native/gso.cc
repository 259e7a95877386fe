#include "gso.h"

#include <errno.h>

#include <cstring>

#include "byte-order.h"
#include "checksum.h"

namespace netio {

namespace {

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr size_t kUdpChecksumOffset = 6;

SplitResult Fail(int err) { return SplitResult{-err, 0, 0}; }

// NEEDS_CSUM: the checksum field already holds the pseudo-header sum, so summing from csum_start to the
// end (field included) and storing the complement gives the full checksum.
bool FinishChecksum(uint8_t* ip, size_t length, size_t start, size_t offset) {
  if (start + offset + 2 > length) return false;
  StoreChecksum(ip + start + offset, SumWords(ip + start, length - start), offset == kUdpChecksumOffset);
  return true;
}

}  // namespace

SplitResult SplitGso(uint8_t* packet, size_t length, uint8_t* out, size_t capacity, size_t headroom) {
  if (length < kVnetHeaderLength) return Fail(EINVAL);
  const uint8_t flags = packet[0];
  const uint8_t gsoType = packet[1];
  const size_t gsoSize = Le16(packet + 4);
  const size_t csumStart = Le16(packet + 6);
  const size_t csumOffset = Le16(packet + 8);
  uint8_t* ip = packet + kVnetHeaderLength;
  const size_t ipLength = length - kVnetHeaderLength;

  if (gsoType == kGsoNone) {
    if ((flags & kVnetNeedsCsum) && !FinishChecksum(ip, ipLength, csumStart, csumOffset)) return Fail(EINVAL);
    return SplitResult{0, 0, 0};
  }

  // Supported: TCPv4, TCPv6, UDP_L4 (either family). The ECN bit is never set: TSO_ECN is not offered.
  if (ipLength < 20) return Fail(EINVAL);
  const bool ipv6 = (ip[0] >> 4) == 6;
  if (!ipv6 && (ip[0] >> 4) != 4) return Fail(EINVAL);
  const bool tcp = gsoType == kGsoTcpV4 || gsoType == kGsoTcpV6;
  if (gsoType != (ipv6 ? kGsoTcpV6 : kGsoTcpV4) && gsoType != kGsoUdpL4) return Fail(EINVAL);
  // No IPv6 extension headers: the L4 header must follow the fixed header, where csum_start points.
  const size_t ipHeader = ipv6 ? 40 : (ip[0] & 0x0f) * 4u;
  const uint8_t protocol = ipv6 ? ip[6] : ip[9];
  if (ipHeader < 20 || csumStart != ipHeader || protocol != (tcp ? 6 : 17)) return Fail(EINVAL);
  const size_t ipDeclared = ipv6 ? Be16(ip + 4) + 40u : Be16(ip + 2);
  if (ipDeclared != ipLength || ipLength < ipHeader + (tcp ? 20u : 8u)) return Fail(EINVAL);
  // hdr_len from the kernel is not trusted: recompute it from the L4 header.
  const size_t l4Header = tcp ? (ip[ipHeader + 12] >> 4) * 4u : 8u;
  if (l4Header < (tcp ? 20u : 8u)) return Fail(EINVAL);
  const size_t headers = ipHeader + l4Header;
  if (ipLength <= headers || gsoSize == 0) return Fail(EINVAL);

  const size_t payload = ipLength - headers;
  const size_t segments = (payload + gsoSize - 1) / gsoSize;
  const size_t stride = headroom + headers + gsoSize;
  const size_t last = payload - (segments - 1) * gsoSize;
  const size_t total = (segments - 1) * stride + headroom + headers + last;
  if (total > capacity) return Fail(ENOBUFS);

  const uint16_t firstId = ipv6 ? 0 : Be16(ip + 4);
  const uint32_t firstSeq = tcp ? Be32(ip + ipHeader + 4) : 0;
  const uint8_t tcpFlags = tcp ? ip[ipHeader + 13] : 0;
  for (size_t i = 0; i < segments; i++) {
    uint8_t* segment = out + i * stride + headroom;
    const size_t segmentPayload = i + 1 < segments ? gsoSize : last;
    const size_t l4Length = l4Header + segmentPayload;
    std::memcpy(segment, ip, headers);
    std::memcpy(segment + headers, ip + headers + i * gsoSize, segmentPayload);
    if (ipv6) {
      PutBe16(segment + 4, static_cast<uint32_t>(l4Length));
    } else {
      PutBe16(segment + 2, static_cast<uint32_t>(ipHeader + l4Length));
      PutBe16(segment + 4, static_cast<uint16_t>(firstId + i));
      segment[10] = segment[11] = 0;
      StoreChecksum(segment + 10, SumWords(segment, ipHeader), false);
    }
    uint8_t* l4 = segment + ipHeader;
    const uint64_t pseudo = PseudoHeaderSum(segment, ipv6, protocol, static_cast<uint32_t>(l4Length));
    if (tcp) {
      PutBe32(l4 + 4, static_cast<uint32_t>(firstSeq + i * gsoSize));
      // FIN and PSH belong to the last segment only.
      if (i + 1 < segments) l4[13] = tcpFlags & ~(kTcpFin | kTcpPsh);
      l4[16] = l4[17] = 0;
      StoreChecksum(l4 + 16, SumWords(l4, l4Length, pseudo), false);
    } else {
      PutBe16(l4 + 4, static_cast<uint32_t>(l4Length));
      l4[6] = l4[7] = 0;
      StoreChecksum(l4 + 6, SumWords(l4, l4Length, pseudo), true);
    }
  }
  return SplitResult{static_cast<int>(segments), static_cast<uint32_t>(stride), static_cast<uint32_t>(total)};
}

}  // namespace netio
