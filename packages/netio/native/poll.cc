#include "poll.h"

#include <string>

#include "errors.h"
#include "memory.h"

namespace netio {

namespace {

// Bit reported to JS when the watcher failed (e.g. POLLERR on a deleted TUN); libuv has stopped it.
constexpr int kPollError = 4;

void OnClosed(uv_handle_t* handle) {
  PollWatch* watch = reinterpret_cast<PollWatch*>(handle);
  napi_remove_async_cleanup_hook(watch->cleanupHook);
  delete watch;
}

void CloseWatch(PollWatch* watch) {
  if (watch->closing) return;
  watch->closing = true;
  watch->owner = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle), OnClosed);
}

void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
  PollWatch* watch = static_cast<PollWatch*>(data);
  if (watch->owner != nullptr) watch->owner->Detach();
  CloseWatch(watch);
}

void OnPoll(uv_poll_t* handle, int status, int events) {
  PollWatch* watch = reinterpret_cast<PollWatch*>(handle);
  if (watch->owner != nullptr) watch->owner->OnEvent(status, events);
}

}  // namespace

Napi::Function Poller::Define(Napi::Env env) {
  return DefineClass(env, "NativePoller",
                     {
                         InstanceMethod<&Poller::Start>("start"),
                         InstanceMethod<&Poller::Stop>("stop"),
                         InstanceMethod<&Poller::Close>("close"),
                     });
}

Poller::Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntegerArg(env, info[0], "createPoller: fd", 0, INT32_MAX));
  if (!info[1].IsFunction()) ThrowBadArgument(env, "createPoller: callback must be a function");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowErrno(env, 0, "napi_get_uv_event_loop", "no event loop");
  }
  PollWatch* watch = new PollWatch{};
  int status = uv_poll_init(loop, &watch->handle, fd);
  if (status < 0) {
    delete watch;
    ThrowErrno(env, -status, "uv_poll_init", "fd " + std::to_string(fd));
  }
  if (napi_add_async_cleanup_hook(env, OnTeardown, watch, &watch->cleanupHook) != napi_ok) {
    // Without the hook the handle could outlive the loop: close it now and report.
    watch->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle),
             [](uv_handle_t* h) { delete reinterpret_cast<PollWatch*>(h); });
    ThrowErrno(env, 0, "napi_add_async_cleanup_hook");
  }
  watch->owner = this;
  watch_ = watch;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
}

Poller::~Poller() {
  if (watch_ != nullptr) CloseWatch(watch_);
  watch_ = nullptr;
}

void Poller::SetActive(bool active) {
  if (active == active_) return;
  active_ = active;
  // An active watcher keeps its JS object (and callback) alive, as Node handles do.
  if (active) {
    Ref();
  } else {
    Unref();
  }
}

void Poller::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (watch_ == nullptr) ThrowClosed(env, "Poller");
  int events = static_cast<int>(IntegerArg(env, info[0], "start: events", 1, 3));
  int uvEvents = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0);
  int status = uv_poll_start(&watch_->handle, uvEvents, OnPoll);
  if (status < 0) ThrowErrno(env, -status, "uv_poll_start");
  SetActive(true);
}

void Poller::Stop(const Napi::CallbackInfo& info) {
  if (watch_ == nullptr) ThrowClosed(info.Env(), "Poller");
  uv_poll_stop(&watch_->handle);
  SetActive(false);
}

void Poller::Release() {
  if (watch_ == nullptr) return;
  CloseWatch(watch_);
  watch_ = nullptr;
  SetActive(false);
  callback_.Reset();
}

void Poller::Close(const Napi::CallbackInfo&) { Release(); }

void Poller::Detach() {
  watch_ = nullptr;
  active_ = false;
}

void Poller::OnEvent(int status, int events) {
  // The env is read before the call: the callback may close this Poller.
  napi_env env = Env();
  Napi::HandleScope scope(Env());
  int reported = 0;
  if (status < 0) {
    // libuv stopped the handle itself (POLLERR); mirror that so start() can try again.
    reported = kPollError;
    SetActive(false);
  } else {
    reported = ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
  }
  // A plain call, not napi_make_callback: no async context and no callback scope of its own (Node's
  // check phase later in this loop turn drains microtasks and nextTicks; see Poller in types.ts). After
  // an idle gap every cache line touched costs, and this runs once per packet batch. The wrapped object
  // outlives the call even if the callback closes it: N-API runs finalizers later, from the loop.
  napi_value argv[1];
  napi_value receiver;
  napi_value result;
  napi_create_int32(env, reported, &argv[0]);
  napi_get_undefined(env, &receiver);
  if (napi_call_function(env, receiver, callback_.Value(), 1, argv, &result) == napi_ok) return;
  bool pending = false;
  // Nothing pending: the env is shutting down and refused the call.
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  // Same as a throwing Node callback: route it to 'uncaughtException'.
  napi_value error;
  napi_get_and_clear_last_exception(env, &error);
  napi_fatal_exception(env, error);
}

}  // namespace netio
