#include "inner-checksum.h"

#include <cstring>

#include "byte-order.h"
#include "checksum.h"

namespace netio {

namespace {

constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolUdp = 17;

}  // namespace

InnerChecksum CompleteInnerChecksum(uint8_t* ip, size_t length) {
  if (length < 20) return InnerChecksum::kValid;
  const int version = ip[0] >> 4;
  size_t header;
  size_t ipLength;
  uint8_t protocol;
  bool ipv6 = false;
  if (version == 4) {
    header = (ip[0] & 0x0f) * 4u;
    ipLength = Be16(ip + 2);
    protocol = ip[9];
    // A fragment's checksum covers the whole datagram: only the reassembling kernel can check it.
    if ((Be16(ip + 6) & 0x3fff) != 0) return InnerChecksum::kValid;
  } else if (version == 6) {
    // No extension headers (the overlay carries none): TCP or UDP right after the fixed header.
    if (length < 40) return InnerChecksum::kValid;
    ipv6 = true;
    header = 40;
    ipLength = Be16(ip + 4) + 40u;
    protocol = ip[6];
  } else {
    return InnerChecksum::kValid;
  }
  if (protocol != kProtocolTcp && protocol != kProtocolUdp) return InnerChecksum::kValid;
  const size_t field = protocol == kProtocolTcp ? 16 : 6;
  if (header < 20 || ipLength > length || ipLength < header + field + 2) return InnerChecksum::kValid;
  uint8_t* l4 = ip + header;
  const uint32_t l4Length = static_cast<uint32_t>(ipLength - header);
  uint16_t stored;
  std::memcpy(&stored, l4 + field, 2);
  // IPv4 UDP may go without a checksum (0).
  if (protocol == kProtocolUdp && !ipv6 && stored == 0) return InnerChecksum::kValid;
  const uint64_t pseudo = PseudoHeaderSum(ip, ipv6, protocol, l4Length);
  const uint64_t sum = SumWords(l4, l4Length, pseudo);
  if (Fold(sum) == 0xffff) return InnerChecksum::kValid;
  // Partial: the field holds the folded pseudo-header sum (either representation of zero).
  const uint16_t partial = Fold(pseudo);
  const bool zero = (partial == 0 || partial == 0xffff) && (stored == 0 || stored == 0xffff);
  if (stored != partial && !zero) return InnerChecksum::kBad;
  // One pass: the sum without the field is the sum minus the stored word (adding its complement).
  StoreChecksum(l4 + field, sum + static_cast<uint16_t>(~stored), protocol == kProtocolUdp);
  return InnerChecksum::kCompleted;
}

}  // namespace netio
