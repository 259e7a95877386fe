#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "bound-methods.h"
#include "gso.h"
#include "inner-checksum.h"

// Older uapi headers lack the USO flags (Linux 6.2); the values are ABI.
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

namespace netio {

namespace {

constexpr unsigned kUso = TUN_F_USO4 | TUN_F_USO6;
// writeInbound, MSG_SEGMENT in: an outer checksum covered the packet (Inbound.COVERED in src/types.ts).
constexpr int32_t kInboundCovered = 1;

bool BoolOption(const Napi::Object& options, const char* key) {
  Napi::Value value = options.Get(key);
  return value.IsBoolean() && value.As<Napi::Boolean>().Value();
}

// EBADFD: the device was deleted while this fd was attached to it.
bool DeviceGone(int err) { return err == EBADFD; }

// One read or write per record, until EAGAIN; returns how many records are done, each with its byte
// count or, for a packet the kernel refused alone (EINVAL malformed or a slot smaller than the vnet
// header, EIO device down, EMSGSIZE...), -errno. A deleted device ends the batch after what was done
// (the next call raises it, nothing lost) or raises at once.
template <typename Io>
uint32_t EachPacket(Napi::Env env, const Batch& batch, const iovec* slices, const char* syscall, Io io) {
  uint32_t done = 0;
  while (done < batch.count) {
    ssize_t n = io(slices[done]);
    if (n >= 0) {
      batch.records[done * kStride + kLength] = static_cast<int32_t>(n);
      done++;
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN) break;
    if (done > 0 && DeviceGone(err)) break;
    if (DeviceGone(err)) ThrowErrno(env, err, syscall, "TUN device deleted");
    batch.records[done * kStride + kLength] = -err;
    done++;
  }
  return done;
}

}  // namespace

Napi::Function Tun::Define(Napi::Env env) {
  return DefineClass(env, "NativeTun",
                     {
                         InstanceMethod<&Tun::Attach>("attach"),
                         InstanceMethod<&Tun::BindHot>("bindHot"),
                         InstanceMethod<&Tun::WriteCoalesced>("writeCoalesced"),
                         InstanceMethod<&Tun::CoalesceInto>("coalesceInto"),
                         InstanceMethod<&Tun::SetPersist>("setPersist"),
                         InstanceMethod<&Tun::Close>("close"),
                     });
}

Tun::Tun(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tun>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowBadArgument(env, "openTun: options must be an object");
  Napi::Object options = info[0].As<Napi::Object>();

  ifreq request;
  std::memset(&request, 0, sizeof(request));
  Napi::Value name = options.Get("name");
  if (!name.IsUndefined() && !name.IsNull()) {
    if (!name.IsString()) ThrowBadArgument(env, "openTun: name must be a string");
    std::string requested = name.As<Napi::String>().Utf8Value();
    if (requested.empty() || requested.size() >= IFNAMSIZ || requested.find('/') != std::string::npos) {
      ThrowBadArgument(env, "openTun: name must be 1-15 bytes without '/', got '" + requested + "'");
    }
    std::memcpy(request.ifr_name, requested.data(), requested.size());
  }
  bool vnetHeader = BoolOption(options, "vnetHeader");
  unsigned offloads = 0;
  Napi::Value offloadValue = options.Get("offloads");
  if (!offloadValue.IsUndefined()) offloads = IntegerArg(env, offloadValue, "openTun: offloads", 0, 0x7f);
  if (offloads != 0 && !vnetHeader) ThrowBadArgument(env, "openTun: offloads need vnetHeader: true");

  request.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (vnetHeader) request.ifr_flags |= IFF_VNET_HDR;
  if (BoolOption(options, "multiQueue")) request.ifr_flags |= IFF_MULTI_QUEUE;

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) ThrowErrno(env, errno, "open", "/dev/net/tun");
  auto fail = [&](const char* syscall) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, syscall, request.ifr_name);
  };
  if (ioctl(fd, TUNSETIFF, &request) < 0) fail("ioctl(TUNSETIFF)");
  // Ask for the full set first; USO (Linux 6.2+) is the part older kernels refuse.
  unsigned accepted = 0;
  if (offloads != 0) {
    if (ioctl(fd, TUNSETOFFLOAD, offloads) == 0) {
      accepted = offloads;
    } else if ((offloads & kUso) != 0 && errno == EINVAL && ioctl(fd, TUNSETOFFLOAD, offloads & ~kUso) == 0) {
      accepted = offloads & ~kUso;
    } else {
      fail("ioctl(TUNSETOFFLOAD)");
    }
  } else {
    // A persistent device keeps the offloads an earlier owner enabled; a reader without them must turn
    // them off, or the kernel hands it super-packets it cannot parse. Best effort (no offloads is the default).
    ioctl(fd, TUNSETOFFLOAD, 0);
  }
  if (BoolOption(options, "persist") && ioctl(fd, TUNSETPERSIST, 1) < 0) fail("ioctl(TUNSETPERSIST)");
  fd_ = fd;
  vnetHeader_ = vnetHeader;
  offloads_ = accepted;

  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("name", Napi::String::New(env, request.ifr_name));
  self.Set("fd", Napi::Number::New(env, fd));
  self.Set("vnetHeader", Napi::Boolean::New(env, vnetHeader));
  self.Set("offloads", Napi::Number::New(env, accepted));
}

Tun::~Tun() {
  if (fd_ >= 0) close(fd_);
}

void Tun::Attach(const Napi::CallbackInfo& info) {
  if (fd_ < 0) ThrowClosed(info.Env(), "TUN device");
  memory_.Attach(info);
}

Napi::Value Tun::BindHot(const Napi::CallbackInfo& info) {
  return BindMethods<Tun>(info.Env(), this, info.This().As<Napi::Object>(),
                          {
                              {"read", CallBound<Tun, &Tun::Read>},
                              {"write", CallBound<Tun, &Tun::Write>},
                              {"writeInbound", CallBound<Tun, &Tun::WriteInbound>},
                              {"split", CallBound<Tun, &Tun::Split>},
                              {"completeChecksums", CallBound<Tun, &Tun::CompleteChecksums>},
                          });
}

Batch Tun::Prepare(const Napi::CallbackInfo& info, const char* what) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowClosed(env, "TUN device");
  Batch batch = memory_.ParseBatch(info);
  for (uint32_t i = 0; i < batch.count; i++) {
    const int32_t* record = batch.records + i * kStride;
    int32_t length = record[kLength];
    if (length <= 0) {
      ThrowBadArgument(env, std::string(what) + ": record " + std::to_string(batch.first + i) +
                                " has length " + std::to_string(length) + " (must be > 0)");
    }
    slices_[i].iov_base = memory_.Slice(env, record[kOffset], length, batch.first + i);
    slices_[i].iov_len = static_cast<size_t>(length);
  }
  return batch;
}

Napi::Value Tun::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch = Prepare(info, "read");
  const int fd = fd_;
  return Napi::Number::New(env, EachPacket(env, batch, slices_, "read", [fd](const iovec& slice) {
                             return read(fd, slice.iov_base, slice.iov_len);
                           }));
}

Napi::Value Tun::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch = Prepare(info, "write");
  const int fd = fd_;
  return Napi::Number::New(env, EachPacket(env, batch, slices_, "write", [fd](const iovec& slice) {
                             return write(fd, slice.iov_base, slice.iov_len);
                           }));
}

// Record `index` as coalescing sees it. writeInbound: a record not covered by an outer checksum
// (MSG_SEGMENT in) is checked first, the result in MSG_ADDR (a completed one stays reported as such
// when a retry after EAGAIN finds it valid); then neither is summed again.
GroPacket Tun::Inspect(const Batch& batch, uint32_t index) {
  uint8_t* data = static_cast<uint8_t*>(slices_[index].iov_base);
  const size_t length = slices_[index].iov_len;
  bool verified = false;
  if (inbound_) {
    int32_t* record = batch.records + index * kStride;
    InnerChecksum result = InnerChecksum::kValid;
    if (record[kSegment] != kInboundCovered) result = CompleteInnerChecksum(data, length);
    if (result != InnerChecksum::kValid || record[kAddr] != static_cast<int32_t>(InnerChecksum::kCompleted)) {
      record[kAddr] = static_cast<int32_t>(result);
    }
    // A bad packet is never written: it stays unparsed, so nothing merges with it.
    if (result == InnerChecksum::kBad) return GroPacket();
    verified = true;
  }
  return InspectForGro(data, length, (offloads_ & TUN_F_USO4) != 0, (offloads_ & TUN_F_USO6) != 0, verified);
}

// The next run of records [done, *end) that go out in one write, as iovecs in groVector_ (returns their
// count). `current` holds the inspected record `done` and is left holding record *end.
int Tun::NextGroup(const Batch& batch, uint32_t done, uint32_t mtu, GroPacket& current, uint32_t* end) {
  static const uint8_t kPlainHeader[kVnetHeaderLength] = {};
  group_.Start(current);
  *end = done + 1;
  while (*end < batch.count) {
    current = Inspect(batch, *end);
    if (!group_.TryAppend(current)) break;
    (*end)++;
  }
  const bool lone = group_.packets() == 1 && !group_.Oversized(mtu);
  // Lone packets go out with an all-zero header (the kernel verifies them), except inbound ones whose
  // integrity is known: NEEDS_CSUM, so the kernel does not sum them again.
  if (lone && !(inbound_ && group_.describable())) {
    groVector_[0] = {const_cast<uint8_t*>(kPlainHeader), kVnetHeaderLength};
    groVector_[1] = slices_[done];
    return 2;
  }
  // An oversized lone packet is cut by the kernel into MTU-sized segments where it must be.
  const uint32_t segmentSize = group_.packets() == 1 && !lone ? mtu - group_.headers() : 0;
  groVector_[0] = {groHeader_, group_.BuildHeader(groHeader_, segmentSize)};
  int vectors = 1;
  for (uint32_t i = done; i < *end; i++) {
    groVector_[vectors++] = {static_cast<uint8_t*>(slices_[i].iov_base) + group_.headers(),
                             slices_[i].iov_len - group_.headers()};
  }
  return vectors;
}

// Validates the arguments of writeCoalesced, coalesceInto and writeInbound; returns the batch.
Batch Tun::PrepareCoalesce(const Napi::CallbackInfo& info, const char* what, bool inbound) {
  Batch batch = Prepare(info, what);
  if (!vnetHeader_) ThrowBadArgument(info.Env(), std::string(what) + " needs a TUN opened with vnetHeader: true");
  inbound_ = inbound;
  return batch;
}

// writeCoalesced(first, count): see Tun.writeCoalesced in src/types.ts.
Napi::Value Tun::WriteCoalesced(const Napi::CallbackInfo& info) {
  Batch batch = PrepareCoalesce(info, "writeCoalesced", false);
  return Napi::Number::New(info.Env(), WriteGroups(info.Env(), batch, 0));
}

// writeInbound(first, count, mtu?): see Tun.writeInbound in src/types.ts.
Napi::Value Tun::WriteInbound(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch = PrepareCoalesce(info, "writeInbound", true);
  const uint32_t mtu = info.Length() > 2 && !info[2].IsUndefined()
                           ? static_cast<uint32_t>(IntegerArg(env, info[2], "writeInbound: mtu", 0, 65535))
                           : 0;
  return Napi::Number::New(env, WriteGroups(env, batch, mtu));
}

// One writev per group until EAGAIN; returns records consumed. A bad inbound packet is consumed unwritten.
uint32_t Tun::WriteGroups(Napi::Env env, const Batch& batch, uint32_t mtu) {
  uint32_t done = 0;
  GroPacket current = batch.count > 0 ? Inspect(batch, 0) : GroPacket();
  while (done < batch.count) {
    int32_t* first = batch.records + done * kStride;
    if (inbound_ && first[kAddr] == static_cast<int32_t>(InnerChecksum::kBad)) {
      first[kSegment] = 0;
      if (++done < batch.count) current = Inspect(batch, done);
      continue;
    }
    uint32_t end;
    const int vectors = NextGroup(batch, done, mtu, current, &end);
    ssize_t n;
    do {
      n = writev(fd_, groVector_, vectors);
    } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : 0;
    if (err == EAGAIN) break;
    if (DeviceGone(err)) {
      if (done > 0) break;
      ThrowErrno(env, err, "write", "TUN device deleted");
    }
    for (uint32_t i = done; i < end; i++) {
      int32_t* record = batch.records + i * kStride;
      record[kLength] = err != 0 ? -err : static_cast<int32_t>(slices_[i].iov_len);
      record[kSegment] = static_cast<int32_t>(group_.packets());
    }
    done = end;
  }
  return done;
}

// coalesceInto(first, count, target): see Tun.coalesceInto in src/types.ts.
Napi::Value Tun::CoalesceInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch = PrepareCoalesce(info, "coalesceInto", false);
  uint32_t targetIndex = memory_.RecordIndex(env, info[2], "coalesceInto: target");
  if (targetIndex >= batch.first && targetIndex < batch.first + batch.count) {
    ThrowBadArgument(env, "coalesceInto: the target record is one of the source records");
  }
  int32_t* target = memory_.RecordAt(targetIndex);
  const int32_t outOffset = target[kOffset], outLength = target[kLength];
  uint8_t* out = memory_.Slice(env, outOffset, outLength, targetIndex);
  for (uint32_t i = 0; i < batch.count; i++) {
    const uint8_t* p = static_cast<uint8_t*>(slices_[i].iov_base);
    if (p < out + outLength && out < p + slices_[i].iov_len) ThrowBadArgument(env, "coalesceInto: overlap");
  }
  size_t used = 0;
  uint32_t done = 0;
  uint32_t writes = 0;
  GroPacket current = batch.count > 0 ? Inspect(batch, 0) : GroPacket();
  while (done < batch.count) {
    uint32_t end;
    const int vectors = NextGroup(batch, done, 0, current, &end);
    size_t bytes = 0;
    for (int v = 0; v < vectors; v++) bytes += groVector_[v].iov_len;
    if (used + bytes > static_cast<size_t>(outLength)) break;
    for (int v = 0; v < vectors; v++) {
      std::memcpy(out + used, groVector_[v].iov_base, groVector_[v].iov_len);
      used += groVector_[v].iov_len;
    }
    for (uint32_t i = done; i < end; i++) batch.records[i * kStride + kSegment] = static_cast<int32_t>(group_.packets());
    writes++;
    done = end;
  }
  target[kLength] = static_cast<int32_t>(used);
  target[kSegment] = static_cast<int32_t>(writes);
  return Napi::Number::New(env, done);
}

// split(source, target, headroom): see Tun.split in src/types.ts.
Napi::Value Tun::Split(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowClosed(env, "TUN device");
  uint32_t sourceIndex = memory_.RecordIndex(env, info[0], "split: source");
  uint32_t targetIndex = memory_.RecordIndex(env, info[1], "split: target");
  int32_t* source = memory_.RecordAt(sourceIndex);
  int32_t* target = memory_.RecordAt(targetIndex);
  size_t headroom = static_cast<size_t>(IntegerArg(env, info[2], "split: headroom", 0, 4096));
  // Copied once: another thread may write the records of a SharedArrayBuffer meanwhile.
  const int32_t inOffset = source[kOffset], inLength = source[kLength];
  const int32_t outOffset = target[kOffset], outLength = target[kLength];
  uint8_t* in = memory_.Slice(env, inOffset, inLength, sourceIndex);
  uint8_t* out = memory_.Slice(env, outOffset, outLength, targetIndex);
  if (in < out + outLength && out < in + inLength) ThrowBadArgument(env, "split: source and target overlap");
  SplitResult result =
      SplitGso(in, static_cast<size_t>(inLength), out, static_cast<size_t>(outLength), headroom);
  if (result.segments > 0) {
    target[kLength] = static_cast<int32_t>(result.total);
    target[kSegment] = static_cast<int32_t>(result.stride);
  }
  return Napi::Number::New(env, result.segments);
}

// completeChecksums(first, count): see Tun.completeChecksums in src/types.ts.
Napi::Value Tun::CompleteChecksums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch = Prepare(info, "completeChecksums");
  uint32_t flagged = 0;
  for (uint32_t i = 0; i < batch.count; i++) {
    InnerChecksum result = CompleteInnerChecksum(static_cast<uint8_t*>(slices_[i].iov_base), slices_[i].iov_len);
    batch.records[i * kStride + kSegment] = static_cast<int32_t>(result);
    if (result != InnerChecksum::kValid) flagged++;
  }
  return Napi::Number::New(env, flagged);
}

void Tun::SetPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) ThrowClosed(env, "TUN device");
  int persist = info[0].ToBoolean().Value() ? 1 : 0;
  if (ioctl(fd_, TUNSETPERSIST, persist) < 0) ThrowErrno(env, errno, "ioctl(TUNSETPERSIST)");
}

void Tun::Close(const Napi::CallbackInfo&) {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

}  // namespace netio
