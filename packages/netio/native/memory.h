// The JS-owned memory region and message-record array a handle works on (convention in src/types.ts).
// Pointers are cached once at attach(); references keep both buffers alive. A SharedArrayBuffer can never be
// detached; a plain ArrayBuffer can (transfer), so that case is re-checked on every call. Every batch is
// validated here BEFORE any memory is touched, and offsets/lengths are copied out of the records so a
// concurrent writer (another worker on a SharedArrayBuffer) cannot change them between check and use.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "errors.h"

namespace netio {

constexpr uint32_t kStride = 8;
constexpr uint32_t kOffset = 0;
constexpr uint32_t kLength = 1;
constexpr uint32_t kAddr = 2;
constexpr uint32_t kPort = 6;
constexpr uint32_t kSegment = 7;
// Largest batch one call accepts; per-handle scratch arrays are sized for it.
constexpr uint32_t kMaxBatch = 1024;

struct Batch {
  int32_t* records;  // record `first`
  uint32_t first;
  uint32_t count;
};

// A JS number that must be an integer in [min, max]; otherwise NETIO_BAD_ARGUMENT.
inline int64_t IntegerArg(Napi::Env env, napi_value value, const char* name, int64_t min, int64_t max) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok || !(number >= static_cast<double>(min)) ||
      !(number <= static_cast<double>(max)) || number != static_cast<double>(static_cast<int64_t>(number))) {
    ThrowBadArgument(env, std::string(name) + " must be an integer in [" + std::to_string(min) + ", " +
                              std::to_string(max) + "]");
  }
  return static_cast<int64_t>(number);
}

class BatchMemory {
 public:
  void Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    void* memoryData;
    size_t memoryLength;
    napi_value memoryBuffer;
    if (!TypedView(env, info[0], napi_uint8_array, &memoryData, &memoryLength, &memoryBuffer)) {
      ThrowBadArgument(env, "attach: memory must be a Uint8Array");
    }
    void* metaData;
    size_t metaLength;
    napi_value metaBuffer;
    if (!TypedView(env, info[1], napi_int32_array, &metaData, &metaLength, &metaBuffer)) {
      ThrowBadArgument(env, "attach: meta must be an Int32Array");
    }
    if (memoryLength > INT32_MAX) ThrowBadArgument(env, "attach: memory is larger than 2 GiB - 1");
    if (memoryData == nullptr && memoryLength > 0) ThrowBadArgument(env, "attach: memory is detached");
    memory_ = static_cast<uint8_t*>(memoryData);
    memoryLength_ = memoryLength;
    meta_ = static_cast<int32_t*>(metaData);
    recordCount_ = metaLength / kStride;
    memoryRef_ = Napi::Persistent(info[0]);
    metaRef_ = Napi::Persistent(info[1]);
    memoryBuffer_ = DetachableBuffer(env, memoryBuffer);
    metaBuffer_ = DetachableBuffer(env, metaBuffer);
    attached_ = true;
  }

  // Parses (first, count) from info[0], info[1] and checks them against the record array.
  Batch ParseBatch(const Napi::CallbackInfo& info) const {
    Napi::Env env = info.Env();
    if (!attached_) ThrowBadArgument(env, "attach(memory, meta) must be called before batch calls");
    if (!memoryBuffer_.IsEmpty() || !metaBuffer_.IsEmpty()) CheckNotDetached(env);
    int64_t first = IntegerArg(env, info[0], "first", 0, INT32_MAX);
    int64_t count = IntegerArg(env, info[1], "count", 0, kMaxBatch);
    if (static_cast<uint64_t>(first + count) > recordCount_) {
      ThrowBadArgument(env, "records " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
                                " are outside meta (" + std::to_string(recordCount_) + " records)");
    }
    return Batch{meta_ + first * kStride, static_cast<uint32_t>(first), static_cast<uint32_t>(count)};
  }

  // A record index (a JS number argument), checked against the record array.
  uint32_t RecordIndex(Napi::Env env, napi_value index, const char* name) const {
    if (!attached_) ThrowBadArgument(env, "attach(memory, meta) must be called before batch calls");
    if (!memoryBuffer_.IsEmpty() || !metaBuffer_.IsEmpty()) CheckNotDetached(env);
    int64_t record = IntegerArg(env, index, name, 0, INT32_MAX);
    if (static_cast<uint64_t>(record) >= recordCount_) {
      ThrowBadArgument(env, std::string(name) + " record " + std::to_string(record) + " is outside meta (" +
                                std::to_string(recordCount_) + " records)");
    }
    return static_cast<uint32_t>(record);
  }

  int32_t* RecordAt(uint32_t index) const { return meta_ + static_cast<size_t>(index) * kStride; }

  // Checks one record's [offset, offset + length) against the memory region; returns its start.
  uint8_t* Slice(Napi::Env env, int32_t offset, int32_t length, uint32_t record) const {
    if (offset < 0 || length < 0 ||
        static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) > memoryLength_) {
      ThrowBadArgument(env, "record " + std::to_string(record) + ": offset " + std::to_string(offset) +
                                " + length " + std::to_string(length) + " is outside memory (" +
                                std::to_string(memoryLength_) + " bytes)");
    }
    return memory_ + offset;
  }

 private:
  // A typed array of `type`: its data pointer, element count and underlying (Shared)ArrayBuffer.
  static bool TypedView(Napi::Env env, napi_value value, napi_typedarray_type type, void** data,
                        size_t* length, napi_value* buffer) {
    bool isTyped = false;
    napi_typedarray_type actual;
    if (napi_is_typedarray(env, value, &isTyped) != napi_ok || !isTyped) return false;
    return napi_get_typedarray_info(env, value, &actual, length, data, buffer, nullptr) == napi_ok &&
           actual == type;
  }

  // A plain ArrayBuffer can be detached later; a SharedArrayBuffer cannot (napi_is_arraybuffer is false).
  static Napi::Reference<Napi::Value> DetachableBuffer(Napi::Env env, napi_value buffer) {
    bool isArrayBuffer = false;
    napi_is_arraybuffer(env, buffer, &isArrayBuffer);
    if (!isArrayBuffer) return Napi::Reference<Napi::Value>();
    return Napi::Persistent(Napi::Value(env, buffer));
  }

  void CheckNotDetached(Napi::Env env) const {
    for (const Napi::Reference<Napi::Value>* ref : {&memoryBuffer_, &metaBuffer_}) {
      if (ref->IsEmpty()) continue;
      bool detached = false;
      napi_is_detached_arraybuffer(env, ref->Value(), &detached);
      if (detached) ThrowBadArgument(env, "the attached memory or meta buffer was detached (transferred)");
    }
  }

  bool attached_ = false;
  uint8_t* memory_ = nullptr;
  size_t memoryLength_ = 0;
  int32_t* meta_ = nullptr;
  size_t recordCount_ = 0;
  Napi::Reference<Napi::Value> memoryRef_, metaRef_;
  Napi::Reference<Napi::Value> memoryBuffer_, metaBuffer_;
};

}  // namespace netio
