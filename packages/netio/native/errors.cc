#include "errors.h"

namespace netio {

Instance& GetInstance(Napi::Env env) { return *env.GetInstanceData<Instance>(); }

namespace {

[[noreturn]] void Throw(Napi::Env env, Napi::Value code, int err, const char* syscall,
                        const std::string& detail) {
  Instance& instance = GetInstance(env);
  if (!instance.createError.IsEmpty()) {
    Napi::Value error = instance.createError.Call(
        {code, Napi::Number::New(env, err), Napi::String::New(env, syscall), Napi::String::New(env, detail)});
    throw Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + detail);
  error.Set("code", code);
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("syscall", Napi::String::New(env, syscall));
  throw error;
}

}  // namespace

void ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& detail) {
  Throw(env, env.Null(), err, syscall, detail);
}

void ThrowBadArgument(Napi::Env env, const std::string& detail) {
  Throw(env, Napi::String::New(env, "NETIO_BAD_ARGUMENT"), 0, "", detail);
}

void ThrowClosed(Napi::Env env, const char* what) {
  Throw(env, Napi::String::New(env, "NETIO_CLOSED"), 0, "", std::string(what) + " is closed");
}

}  // namespace netio
