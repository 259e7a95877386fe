#include "gro.h"

#include <cstring>

#include "byte-order.h"
#include "checksum.h"

namespace netio {

namespace {

constexpr uint8_t kTcpAck = 0x10;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kVnetNeedsCsum = 1;
constexpr uint8_t kGsoNone = 0;
constexpr uint8_t kGsoTcpV4 = 1;
constexpr uint8_t kGsoTcpV6 = 4;
constexpr uint8_t kGsoUdpL4 = 5;
constexpr uint32_t kMaxLength = 65535;

}  // namespace

GroPacket InspectForGro(const uint8_t* data, size_t length, bool udpV4, bool udpV6, bool verified) {
  GroPacket p;
  p.data = data;
  p.length = static_cast<uint32_t>(length);
  if (length < 20 || length > kMaxLength) return p;
  const int version = data[0] >> 4;
  uint8_t protocol;
  if (version == 4) {
    // No options, no fragments, lengths agree, header checksum valid.
    if ((data[0] & 0x0f) != 5 || Be16(data + 2) != length || (Be16(data + 6) & 0x3fff) != 0) return p;
    if (Fold(SumWords(data, 20)) != 0xffff) return p;
    p.ipHeader = 20;
    protocol = data[9];
  } else if (version == 6) {
    // No extension headers: TCP or UDP right after the fixed header.
    if (length < 40 || Be16(data + 4) + 40u != length) return p;
    p.ipv6 = true;
    p.ipHeader = 40;
    protocol = data[6];
  } else {
    return p;
  }
  const uint8_t* l4 = data + p.ipHeader;
  const uint32_t l4Length = p.length - p.ipHeader;
  bool kind;  // a packet of a kind that merges
  if (protocol == 6) {
    if (l4Length < 20) return p;
    const uint32_t l4Header = (l4[12] >> 4) * 4u;
    if (l4Header < 20 || l4Header > l4Length) return p;
    p.tcp = true;
    p.tcpFlags = l4[13];
    p.headers = p.ipHeader + l4Header;
    p.seq = Be32(l4 + 4);
    kind = p.tcpFlags == kTcpAck || p.tcpFlags == (kTcpAck | kTcpPsh);
  } else if (protocol == 17) {
    // IPv4 UDP without a checksum cannot be verified nor offloaded: leave it alone.
    if (l4Length < 8 || Be16(l4 + 4) != l4Length || (!p.ipv6 && Be16(l4 + 6) == 0)) return p;
    p.headers = p.ipHeader + 8;
    kind = p.ipv6 ? udpV6 : udpV4;
  } else {
    return p;
  }
  p.l4 = true;
  p.payload = p.length - p.headers;
  if (!kind || p.payload == 0) return p;
  if (!verified && Fold(SumWords(l4, l4Length, PseudoHeaderSum(data, p.ipv6, protocol, l4Length))) != 0xffff) {
    return p;
  }
  p.mergeable = true;
  return p;
}

void GroGroup::Start(const GroPacket& head) {
  head_ = head;
  packets_ = 1;
  totalPayload_ = head.payload;
  lastFlags_ = head.tcpFlags;
  closed_ = !head.mergeable || (head.tcp && (head.tcpFlags & kTcpPsh));
}

bool GroGroup::TryAppend(const GroPacket& next) {
  if (closed_ || !next.mergeable || packets_ >= kMaxPackets) return false;
  const GroPacket& h = head_;
  if (next.ipv6 != h.ipv6 || next.tcp != h.tcp || next.headers != h.headers) return false;
  if (next.payload > h.payload || h.headers + totalPayload_ + next.payload > kMaxLength) return false;
  const uint8_t* a = h.data;
  const uint8_t* b = next.data;
  if (h.ipv6) {
    // Version, traffic class, flow label; hop limit; addresses.
    if (std::memcmp(a, b, 4) != 0 || a[7] != b[7] || std::memcmp(a + 8, b + 8, 32) != 0) return false;
  } else {
    // TOS; DF/reserved bits; TTL; addresses.
    if (a[1] != b[1] || (a[6] & 0xe0) != (b[6] & 0xe0) || a[8] != b[8]) return false;
    if (std::memcmp(a + 12, b + 12, 8) != 0) return false;
  }
  const uint8_t* la = a + h.ipHeader;
  const uint8_t* lb = b + h.ipHeader;
  if (std::memcmp(la, lb, 4) != 0) return false;  // ports
  if (h.tcp) {
    // Same ACK number and identical options; the next segment starts where the run ends.
    if (std::memcmp(la + 8, lb + 8, 4) != 0) return false;
    if (std::memcmp(la + 20, lb + 20, h.headers - h.ipHeader - 20) != 0) return false;
    if (next.seq != h.seq + totalPayload_) return false;
  }
  packets_++;
  totalPayload_ += next.payload;
  lastFlags_ = next.tcpFlags;
  // A shorter segment must be the last one; PSH ends the run too.
  closed_ = next.payload < h.payload || (h.tcp && (next.tcpFlags & kTcpPsh));
  return true;
}

size_t GroGroup::BuildHeader(uint8_t* out, uint32_t segmentSize) const {
  const GroPacket& h = head_;
  uint8_t* ip = out + 10;
  std::memcpy(ip, h.data, h.headers);
  const uint32_t l4Length = h.headers - h.ipHeader + totalPayload_;
  uint8_t* l4 = ip + h.ipHeader;
  const uint8_t protocol = h.tcp ? 6 : 17;
  if (h.ipv6) {
    PutBe16(ip + 4, l4Length);
  } else {
    PutBe16(ip + 2, h.ipHeader + l4Length);
    ip[10] = ip[11] = 0;
    StoreChecksum(ip + 10, SumWords(ip, h.ipHeader), false);
  }
  // The kernel finishes the L4 checksum (NEEDS_CSUM): the field carries the pseudo-header sum only.
  const uint16_t partial = Fold(PseudoHeaderSum(ip, h.ipv6, protocol, l4Length));
  if (h.tcp) {
    l4[13] = lastFlags_;
    std::memcpy(l4 + 16, &partial, 2);
  } else {
    PutBe16(l4 + 4, l4Length);
    std::memcpy(l4 + 6, &partial, 2);
  }
  const bool segmented = packets_ > 1 || segmentSize != 0;
  out[0] = kVnetNeedsCsum;
  out[1] = !segmented ? kGsoNone : h.tcp ? (h.ipv6 ? kGsoTcpV6 : kGsoTcpV4) : kGsoUdpL4;
  PutLe16(out + 2, h.headers);
  PutLe16(out + 4, !segmented ? 0 : segmentSize != 0 ? segmentSize : h.payload);
  PutLe16(out + 6, h.ipHeader);
  PutLe16(out + 8, h.tcp ? 16 : 6);
  return 10 + h.headers;
}

}  // namespace netio
