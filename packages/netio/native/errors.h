// Error reporting for every native entry point. Native code decides WHEN something failed and with which
// errno; the TypeScript side (the factory passed to init()) turns that into a NetioError with a stable code
// and a message that says what to do. Without a factory (init not called) a plain Error is thrown.
#pragma once

#include <napi.h>

#include <string>

namespace netio {

// Per-environment state: each worker thread loads the addon again and gets its own copy.
struct Instance {
  Napi::FunctionReference createError;  // (code: string | null, errno, syscall, detail) => Error
};

Instance& GetInstance(Napi::Env env);

// Throws a Napi::Error (C++ exception) mapped by the TS factory from errno + syscall.
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail = "");
// Throws NETIO_BAD_ARGUMENT: a call from JS with arguments out of range.
[[noreturn]] void ThrowBadArgument(Napi::Env env, const std::string& detail);
// Throws NETIO_CLOSED.
[[noreturn]] void ThrowClosed(Napi::Env env, const char* what);

}  // namespace netio
