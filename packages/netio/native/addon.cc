// Module entry: context-aware (node-addon-api registers through napi_register_module_v1), so every
// worker_threads worker that loads the addon gets its own Instance and class constructors.
#include <napi.h>

#include "errors.h"
#include "memory.h"
#include "poll.h"
#include "tun.h"
#include "udp.h"

namespace netio {

namespace {

// init(createError): installs the factory that builds NetioError objects for this environment.
void Init(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) ThrowBadArgument(info.Env(), "init: createError must be a function");
  GetInstance(info.Env()).createError = Napi::Persistent(info[0].As<Napi::Function>());
}

}  // namespace

Napi::Object Setup(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Instance());
  exports.Set("init", Napi::Function::New<Init>(env, "init"));
  exports.Set("Tun", Tun::Define(env));
  exports.Set("Udp", Udp::Define(env));
  exports.Set("Poller", Poller::Define(env));
  exports.Set("MAX_BATCH", Napi::Number::New(env, kMaxBatch));
  return exports;
}

}  // namespace netio

static Napi::Object InitNetio(Napi::Env env, Napi::Object exports) { return netio::Setup(env, exports); }

NODE_API_MODULE(netio, InitNetio)
