#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "bound-methods.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

namespace netio {

namespace {

// Sets a socket buffer size, as root past the sysctl limits (the FORCE option), else within them.
void SetBufferSize(Napi::Env env, int fd, int force, int plain, const Napi::Value& value, const char* name) {
  if (value.IsUndefined()) return;
  int size = static_cast<int>(IntegerArg(env, value, name, 1, INT32_MAX / 2));
  if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) == 0) return;
  if (setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size)) < 0) {
    ThrowErrno(env, errno, "setsockopt", std::string(name));
  }
}

int IntOption(int fd, int level, int option) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, level, option, &value, &length) < 0) return -1;
  return value;
}

// Bounds of reusePortSteering: an inner packet starts inside one datagram, and a reuseport group counts
// its sockets in 16 bits.
constexpr int64_t kMaxInnerOffset = 65535;
constexpr int64_t kMaxSteeringGroup = 65535;
// Odd multiplier (2^32 / golden ratio) that mixes the flow's bits into the upper half.
constexpr uint32_t kSteeringMultiplier = 0x9e3779b1;

// The reuseport program of reusePortSteering (src/types.ts): the socket index of a datagram from its
// inner IPv4 flow, the same in both directions (each pair is hashed in order: lower value, higher value).
// A classic program sees the UDP payload at offset 0; a load past the end ends it with 0 (socket 0), as
// does an inner packet that is not IPv4. Returns whether the kernel took it (Linux 4.5+): without it the
// group still works, spread by the kernel's own hash.
bool AttachInnerFlowSteering(int fd, uint32_t o, uint32_t groupSize) {
  sock_filter program[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, o),
      /* 1 */ BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0),
      /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x40, 0, 40),  // not IPv4 -> 43
      /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, o + 12),          // source address
      /* 4 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
      /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, o + 16),  // destination address
      /* 6 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 3, 0),   // A = higher, X = lower -> 10
      /* 7 */ BPF_STMT(BPF_ST, 0),
      /* 8 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
      /* 9 */ BPF_STMT(BPF_LDX | BPF_MEM, 0),
      /* 10 */ BPF_STMT(BPF_ST, 0),
      /* 11 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
      /* 12 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, kSteeringMultiplier),
      /* 13 */ BPF_STMT(BPF_LDX | BPF_MEM, 0),
      /* 14 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),  // lower * K + higher
      /* 15 */ BPF_STMT(BPF_ST, 0),
      /* 16 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, o + 9),  // protocol
      /* 17 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0),
      /* 18 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 19),  // -> 38
      /* 19 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, o + 6),
      // A fragment (more fragments or an offset): only the first one has ports, so use none.
      /* 20 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 17, 0),  // -> 38
      /* 21 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, o),                // X = IPv4 header length
      /* 22 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, o),                 // source port
      /* 23 */ BPF_STMT(BPF_ST, 1),
      /* 24 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, o + 2),  // destination port
      /* 25 */ BPF_STMT(BPF_LDX | BPF_MEM, 1),
      /* 26 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_X, 0, 3, 0),  // A = higher, X = lower -> 30
      /* 27 */ BPF_STMT(BPF_ST, 1),
      /* 28 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
      /* 29 */ BPF_STMT(BPF_LDX | BPF_MEM, 1),
      /* 30 */ BPF_STMT(BPF_ST, 1),
      /* 31 */ BPF_STMT(BPF_MISC | BPF_TXA, 0),
      /* 32 */ BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 16),
      /* 33 */ BPF_STMT(BPF_LDX | BPF_MEM, 1),
      /* 34 */ BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),  // lower << 16 | higher
      /* 35 */ BPF_STMT(BPF_LDX | BPF_MEM, 0),
      /* 36 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
      /* 37 */ BPF_STMT(BPF_ST, 0),
      /* 38 */ BPF_STMT(BPF_LD | BPF_MEM, 0),
      /* 39 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, kSteeringMultiplier),
      /* 40 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
      /* 41 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, groupSize),
      /* 42 */ BPF_STMT(BPF_RET | BPF_A, 0),
      /* 43 */ BPF_STMT(BPF_RET | BPF_K, 0),
  };
  sock_fprog fprog = {static_cast<unsigned short>(sizeof(program) / sizeof(program[0])), program};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog)) == 0;
}

}  // namespace

Napi::Function Udp::Define(Napi::Env env) {
  return DefineClass(env, "NativeUdp",
                     {
                         InstanceMethod<&Udp::Attach>("attach"),
                         InstanceMethod<&Udp::BindHot>("bindHot"),
                         InstanceMethod<&Udp::Close>("close"),
                     });
}

Udp::Udp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Udp>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowBadArgument(env, "openUdp: options must be an object");
  Napi::Object options = info[0].As<Napi::Object>();
  int64_t family = IntegerArg(env, options.Get("family"), "openUdp: family", 4, 6);
  if (family == 5) ThrowBadArgument(env, "openUdp: family must be 4 or 6");
  family_ = family == 4 ? AF_INET : AF_INET6;
  Napi::Value addressValue = options.Get("address");
  if (!addressValue.IsString()) ThrowBadArgument(env, "openUdp: address must be a string");
  std::string address = addressValue.As<Napi::String>().Utf8Value();
  int port = static_cast<int>(IntegerArg(env, options.Get("port"), "openUdp: port", 0, 65535));

  PeerAddress local;
  std::memset(&local, 0, sizeof(local));
  socklen_t localLength;
  if (family_ == AF_INET) {
    local.v4.sin_family = AF_INET;
    local.v4.sin_port = htons(port);
    localLength = sizeof(local.v4);
    if (inet_pton(AF_INET, address.c_str(), &local.v4.sin_addr) != 1) {
      ThrowBadArgument(env, "openUdp: '" + address + "' is not an IPv4 address");
    }
  } else {
    local.v6.sin6_family = AF_INET6;
    local.v6.sin6_port = htons(port);
    localLength = sizeof(local.v6);
    if (inet_pton(AF_INET6, address.c_str(), &local.v6.sin6_addr) != 1) {
      ThrowBadArgument(env, "openUdp: '" + address + "' is not an IPv6 address");
    }
  }

  int fd = socket(family_, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(env, errno, "socket");
  bool steered = false;
  try {
    int one = 1;
    if (options.Get("reusePort").ToBoolean().Value() &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
      ThrowErrno(env, errno, "setsockopt", "SO_REUSEPORT");
    }
    SetBufferSize(env, fd, SO_RCVBUFFORCE, SO_RCVBUF, options.Get("recvBufferSize"), "recvBufferSize");
    SetBufferSize(env, fd, SO_SNDBUFFORCE, SO_SNDBUF, options.Get("sendBufferSize"), "sendBufferSize");
    if (bind(fd, &local.any, localLength) < 0) {
      ThrowErrno(env, errno, "bind", address + " port " + std::to_string(port));
    }
    Napi::Value steering = options.Get("reusePortSteering");
    if (!steering.IsUndefined()) {
      if (!steering.IsObject()) ThrowBadArgument(env, "openUdp: reusePortSteering must be an object");
      if (!options.Get("reusePort").ToBoolean().Value()) {
        ThrowBadArgument(env, "openUdp: reusePortSteering needs reusePort");
      }
      Napi::Object fields = steering.As<Napi::Object>();
      int64_t innerOffset = IntegerArg(env, fields.Get("innerOffset"),
                                       "openUdp: reusePortSteering.innerOffset", 0, kMaxInnerOffset);
      int64_t groupSize = IntegerArg(env, fields.Get("groupSize"), "openUdp: reusePortSteering.groupSize",
                                     1, kMaxSteeringGroup);
      steered = AttachInnerFlowSteering(fd, static_cast<uint32_t>(innerOffset), static_cast<uint32_t>(groupSize));
    }
  } catch (...) {
    close(fd);
    throw;
  }
  PeerAddress bound;
  socklen_t boundLength = sizeof(bound);
  getsockname(fd, &bound.any, &boundLength);
  int localPort = ntohs(family_ == AF_INET ? bound.v4.sin_port : bound.v6.sin6_port);
  // GRO is optional (Linux 5.0+ for UDP sockets): report whether the kernel took it.
  int one = 1;
  bool gro =
      options.Get("gro").ToBoolean().Value() && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
  bool gso = IntOption(fd, SOL_UDP, UDP_SEGMENT) >= 0;
  fd_ = fd;

  std::memset(messages_, 0, sizeof(messages_));
  for (uint32_t i = 0; i < kMaxBatch; i++) {
    messages_[i].msg_hdr.msg_name = &peers_[i];
    messages_[i].msg_hdr.msg_iov = &slices_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }

  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("fd", Napi::Number::New(env, fd));
  self.Set("family", Napi::Number::New(env, family));
  self.Set("localPort", Napi::Number::New(env, localPort));
  self.Set("gro", Napi::Boolean::New(env, gro));
  self.Set("gsoSupported", Napi::Boolean::New(env, gso));
  self.Set("steered", Napi::Boolean::New(env, steered));
  self.Set("recvBufferSize", Napi::Number::New(env, IntOption(fd, SOL_SOCKET, SO_RCVBUF)));
  self.Set("sendBufferSize", Napi::Number::New(env, IntOption(fd, SOL_SOCKET, SO_SNDBUF)));
}

Udp::~Udp() {
  if (fd_ >= 0) close(fd_);
}

void Udp::CheckOpen(Napi::Env env) const {
  if (fd_ < 0) ThrowClosed(env, "UDP socket");
}

void Udp::Attach(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  memory_.Attach(info);
}

Napi::Value Udp::BindHot(const Napi::CallbackInfo& info) {
  return BindMethods<Udp>(info.Env(), this, info.This().As<Napi::Object>(),
                          {
                              {"recv", CallBound<Udp, &Udp::Recv>},
                              {"send", CallBound<Udp, &Udp::Send>},
                          });
}

Napi::Value Udp::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Batch batch = memory_.ParseBatch(info);
  for (uint32_t i = 0; i < batch.count; i++) {
    const int32_t* record = batch.records + i * kStride;
    int32_t capacity = record[kLength];
    if (capacity <= 0) {
      ThrowBadArgument(env, "recv: record " + std::to_string(batch.first + i) + " has capacity " +
                                std::to_string(capacity) + " (must be > 0)");
    }
    slices_[i].iov_base = memory_.Slice(env, record[kOffset], capacity, batch.first + i);
    slices_[i].iov_len = static_cast<size_t>(capacity);
    msghdr& header = messages_[i].msg_hdr;
    header.msg_iov = &slices_[i];
    header.msg_iovlen = 1;
    header.msg_namelen = sizeof(PeerAddress);
    header.msg_control = control_[i];
    header.msg_controllen = kControlSpace;
    header.msg_flags = 0;
  }
  if (batch.count == 0) return Napi::Number::New(env, 0);

  int received;
  do {
    received = recvmmsg(fd_, messages_, batch.count, MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == EAGAIN) return Napi::Number::New(env, 0);
    // A pending socket error (e.g. ECONNREFUSED from an ICMP) is reported in one record and cleared.
    batch.records[kLength] = -errno;
    return Napi::Number::New(env, 1);
  }
  for (int i = 0; i < received; i++) {
    int32_t* record = batch.records + i * kStride;
    const msghdr& header = messages_[i].msg_hdr;
    record[kLength] = (header.msg_flags & MSG_TRUNC) ? -EMSGSIZE : static_cast<int32_t>(messages_[i].msg_len);
    const PeerAddress& peer = peers_[i];
    if (peer.any.sa_family == AF_INET6) {
      for (int word = 0; word < 4; word++) {
        record[kAddr + word] = static_cast<int32_t>(ntohl(peer.v6.sin6_addr.s6_addr32[word]));
      }
      record[kPort] = ntohs(peer.v6.sin6_port);
    } else {
      record[kAddr] = static_cast<int32_t>(ntohl(peer.v4.sin_addr.s_addr));
      record[kAddr + 1] = record[kAddr + 2] = record[kAddr + 3] = 0;
      record[kPort] = ntohs(peer.v4.sin_port);
    }
    int32_t segment = 0;
    msghdr* parsed = const_cast<msghdr*>(&header);
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(parsed); cmsg != nullptr; cmsg = CMSG_NXTHDR(parsed, cmsg)) {
      if (cmsg->cmsg_level == SOL_UDP && cmsg->cmsg_type == UDP_GRO) {
        int size;
        std::memcpy(&size, CMSG_DATA(cmsg), sizeof(size));
        segment = size;
      }
    }
    record[kSegment] = segment;
  }
  return Napi::Number::New(env, received);
}

// A record's MSG_SEGMENT that appends its bytes to the message before it (SEND_CONTINUES in src/types.ts).
constexpr int32_t kSendContinues = -1;

Napi::Value Udp::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  Batch batch = memory_.ParseBatch(info);
  // Records become messages: a head record starts one, SEND_CONTINUES records add an iovec to it.
  uint32_t messages = 0;
  for (uint32_t i = 0; i < batch.count; i++) {
    const int32_t* record = batch.records + i * kStride;
    uint32_t index = batch.first + i;
    int32_t segment = record[kSegment];
    int32_t length = record[kLength];
    slices_[i].iov_base = memory_.Slice(env, record[kOffset], length, index);
    slices_[i].iov_len = static_cast<size_t>(length);
    if (segment == kSendContinues) {
      if (i == 0) {
        ThrowBadArgument(env, "send: record " + std::to_string(index) +
                                  " continues a message but is the first of the batch");
      }
      messages_[messages - 1].msg_hdr.msg_iovlen++;
      continue;
    }
    int32_t port = record[kPort];
    if (port < 0 || port > 65535) {
      ThrowBadArgument(env, "send: record " + std::to_string(index) + " has port " + std::to_string(port));
    }
    if (segment < 0 || segment > 65535) {
      ThrowBadArgument(env, "send: record " + std::to_string(index) + ": segment " + std::to_string(segment));
    }
    const uint32_t m = messages++;
    messageFirst_[m] = i;
    msghdr& header = messages_[m].msg_hdr;
    header.msg_iov = &slices_[i];
    header.msg_iovlen = 1;
    PeerAddress& peer = peers_[m];
    if (family_ == AF_INET) {
      peer.v4.sin_family = AF_INET;
      peer.v4.sin_port = htons(static_cast<uint16_t>(port));
      peer.v4.sin_addr.s_addr = htonl(static_cast<uint32_t>(record[kAddr]));
      header.msg_namelen = sizeof(peer.v4);
    } else {
      std::memset(&peer.v6, 0, sizeof(peer.v6));
      peer.v6.sin6_family = AF_INET6;
      peer.v6.sin6_port = htons(static_cast<uint16_t>(port));
      for (int word = 0; word < 4; word++) {
        peer.v6.sin6_addr.s6_addr32[word] = htonl(static_cast<uint32_t>(record[kAddr + word]));
      }
      header.msg_namelen = sizeof(peer.v6);
    }
    if (segment > 0) {
      header.msg_control = control_[m];
      header.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
      cmsg->cmsg_level = SOL_UDP;
      cmsg->cmsg_type = UDP_SEGMENT;
      cmsg->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = static_cast<uint16_t>(segment);
      std::memcpy(CMSG_DATA(cmsg), &size, sizeof(size));
    } else {
      header.msg_control = nullptr;
      header.msg_controllen = 0;
    }
  }
  messageFirst_[messages] = batch.count;

  // Each record of message m gets its own length (the message went out whole) or the message's -errno.
  auto finish = [&](uint32_t m, int err) {
    for (uint32_t r = messageFirst_[m]; r < messageFirst_[m + 1]; r++) {
      batch.records[r * kStride + kLength] = err != 0 ? -err : static_cast<int32_t>(slices_[r].iov_len);
    }
  };
  uint32_t done = 0;
  while (done < messages) {
    int sent = sendmmsg(fd_, messages_ + done, messages - done, MSG_DONTWAIT);
    if (sent > 0) {
      for (int i = 0; i < sent; i++) finish(done + i, 0);
      done += sent;
      continue;
    }
    int err = errno;
    if (sent < 0 && err == EINTR) continue;
    if (sent < 0 && err == EAGAIN) break;
    // The first remaining message failed on its own (EMSGSIZE, ENETUNREACH, ECONNREFUSED...): skip it.
    finish(done, sent < 0 ? err : EIO);
    done++;
  }
  return Napi::Number::New(env, messageFirst_[done]);
}

void Udp::Close(const Napi::CallbackInfo&) {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

}  // namespace netio
