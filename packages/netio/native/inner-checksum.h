// Inner TCP/UDP checksums of packets received from a tunnel. A kernel vxlan peer whose underlay device
// offloads checksums (a veth, or a NIC it trusts) sends inner packets still CHECKSUM_PARTIAL: the L4
// field holds only the pseudo-header sum. A NIC would finish it on the wire; over a veth nobody does, and
// the receiving kernel drops what we write into the TUN. Pure function on one IP packet, no N-API.
#pragma once

#include <cstddef>
#include <cstdint>

namespace netio {

enum class InnerChecksum : int32_t {
  kValid = 0,      // verified, or nothing to verify (not TCP/UDP, fragment, IPv4 UDP without checksum)
  kCompleted = 1,  // the field held the partial (pseudo-header) sum: the full checksum is now stored
  kBad = -1,       // neither valid nor partial: the receiver would drop it
};

// Verifies the L4 checksum of the IPv4/IPv6 packet at [ip, ip + length) and completes a partial one in place.
InnerChecksum CompleteInnerChecksum(uint8_t* ip, size_t length);

}  // namespace netio
