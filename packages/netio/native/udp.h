// A batched UDP socket (IPv4 or IPv6): recvmmsg/sendmmsg over the record convention, with per-message
// UDP_SEGMENT (GSO) and scatter-gather (a message spanning several records) on send, and the UDP_GRO
// segment size on receive. Every msghdr, iovec, address and
// control buffer is preallocated per handle for kMaxBatch messages: a batch call allocates nothing.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "memory.h"

namespace netio {

union PeerAddress {
  sockaddr any;
  sockaddr_in v4;
  sockaddr_in6 v6;
};

// Room for one int-sized cmsg (UDP_GRO on receive, UDP_SEGMENT on send) plus one unexpected extra.
constexpr size_t kControlSpace = CMSG_SPACE(sizeof(int)) * 2;

class Udp : public Napi::ObjectWrap<Udp> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Udp({ family, address, port, reusePort?, reusePortSteering?, recvBufferSize?, sendBufferSize?,
  //           gro? })
  explicit Udp(const Napi::CallbackInfo& info);
  ~Udp() override;

 private:
  void Attach(const Napi::CallbackInfo& info);
  // bindHot(): { recv, send } bound to this instance.
  Napi::Value BindHot(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env) const;

  int fd_ = -1;
  int family_ = AF_INET;
  BatchMemory memory_;
  mmsghdr messages_[kMaxBatch];
  iovec slices_[kMaxBatch];
  // Send: the first record (batch-relative) of each message, and the batch's record count after the last.
  uint32_t messageFirst_[kMaxBatch + 1];
  PeerAddress peers_[kMaxBatch];
  alignas(cmsghdr) unsigned char control_[kMaxBatch][kControlSpace];
};

}  // namespace netio
