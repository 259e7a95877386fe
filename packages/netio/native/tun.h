// A TUN device queue: one fd on /dev/net/tun (IFF_TUN | IFF_NO_PI), non-blocking, with batched read/write
// over the record convention. One read()/write() per packet: the TUN has no multi-packet syscall.
#pragma once

#include <napi.h>
#include <sys/uio.h>

#include "gro.h"
#include "memory.h"

namespace netio {

class Tun : public Napi::ObjectWrap<Tun> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Tun({ name?, vnetHeader?, offloads?, multiQueue?, persist? }); exposes name, fd, offloads.
  explicit Tun(const Napi::CallbackInfo& info);
  ~Tun() override;

 private:
  void Attach(const Napi::CallbackInfo& info);
  // bindHot(): { read, write, writeInbound, split, completeChecksums } bound to this instance.
  Napi::Value BindHot(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteCoalesced(const Napi::CallbackInfo& info);
  Napi::Value CoalesceInto(const Napi::CallbackInfo& info);
  Napi::Value WriteInbound(const Napi::CallbackInfo& info);
  void SetPersist(const Napi::CallbackInfo& info);
  Napi::Value Split(const Napi::CallbackInfo& info);
  Napi::Value CompleteChecksums(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  // Validates the batch and copies each record's (start, length) into slices_.
  Batch Prepare(const Napi::CallbackInfo& info, const char* what);
  // Coalescing (writeCoalesced, coalesceInto, writeInbound): argument checks, and one run of records at a time.
  Batch PrepareCoalesce(const Napi::CallbackInfo& info, const char* what, bool inbound);
  GroPacket Inspect(const Batch& batch, uint32_t index);
  uint32_t WriteGroups(Napi::Env env, const Batch& batch, uint32_t mtu);
  int NextGroup(const Batch& batch, uint32_t done, uint32_t mtu, GroPacket& current, uint32_t* end);

  int fd_ = -1;
  bool vnetHeader_ = false;
  unsigned offloads_ = 0;
  BatchMemory memory_;
  iovec slices_[kMaxBatch];
  // writeCoalesced: one super-packet at a time.
  GroGroup group_;
  bool inbound_ = false;   // writeInbound: checksums per record (MSG_SEGMENT in), lone packets NEEDS_CSUM
  uint8_t groHeader_[GroGroup::kMaxHeader];
  iovec groVector_[GroGroup::kMaxPackets + 1];
};

}  // namespace netio
