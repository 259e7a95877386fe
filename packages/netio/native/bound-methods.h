// Per-instance functions for the hot batch calls (Tun read/write..., Udp recv/send). An ObjectWrap method
// finds its instance with napi_unwrap, a private-property lookup on the JS object: after an idle gap,
// with cold caches, that lookup is a large share of a call. These functions carry the instance as their
// napi data instead. Each holds a strong reference to the wrapped JS object, so the instance lives as long
// as any of its functions; the JS object does not hold them (the TS wrapper does), so nothing stays
// reachable through the references alone. Closed handles still throw: the methods check as before.
#pragma once

#include <napi.h>

#include <initializer_list>

namespace netio {

template <typename T>
struct BoundInstance {
  T* instance;
  napi_ref owner;  // the wrapped JS object, kept alive while the function lives
};

template <typename T, Napi::Value (T::*Method)(const Napi::CallbackInfo&)>
napi_value CallBound(napi_env env, napi_callback_info info) {
  try {
    Napi::CallbackInfo callbackInfo(env, info);
    auto* bound = static_cast<BoundInstance<T>*>(callbackInfo.Data());
    return (bound->instance->*Method)(callbackInfo);
  } catch (const Napi::Error& error) {
    error.ThrowAsJavaScriptException();
    return nullptr;
  }
}

struct BoundMethod {
  const char* name;
  napi_callback callback;
};

// An object { name: function } with one function per method, bound to `instance` (wrapped by `owner`).
template <typename T>
Napi::Object BindMethods(Napi::Env env, T* instance, Napi::Object owner,
                         std::initializer_list<BoundMethod> methods) {
  Napi::Object result = Napi::Object::New(env);
  for (const BoundMethod& method : methods) {
    auto* bound = new BoundInstance<T>{instance, nullptr};
    napi_value function;
    if (napi_create_reference(env, owner, 1, &bound->owner) != napi_ok) {
      delete bound;
      throw Napi::Error::New(env);
    }
    auto release = [](napi_env finalizeEnv, void* data, void*) {
      auto* done = static_cast<BoundInstance<T>*>(data);
      napi_delete_reference(finalizeEnv, done->owner);
      delete done;
    };
    napi_status status =
        napi_create_function(env, method.name, NAPI_AUTO_LENGTH, method.callback, bound, &function);
    if (status == napi_ok) status = napi_add_finalizer(env, function, bound, release, nullptr, nullptr);
    if (status != napi_ok) {
      napi_delete_reference(env, bound->owner);
      delete bound;
      throw Napi::Error::New(env);
    }
    result.Set(method.name, Napi::Value(env, function));
  }
  return result;
}

}  // namespace netio
