#include "poll.h"

#include <cstring>
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
  // Called from JS, so this thread's isolate has the addon's context entered. A napi_value is a
  // v8::Local's slot pointer (Node's own V8LocalValueFromJsValue converts it the same way).
  env_ = env;
  isolate_ = v8::Isolate::GetCurrent();
  napi_value callback = info[1];
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(callback), "napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&local), &callback, sizeof(callback));
  function_.Reset(isolate_, local.As<v8::Function>());
  context_.Reset(isolate_, isolate_->GetCurrentContext());
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
  function_.Reset();
  context_.Reset();
}

void Poller::Close(const Napi::CallbackInfo&) { Release(); }

void Poller::Detach() {
  watch_ = nullptr;
  active_ = false;
}

void Poller::OnEvent(int status, int events) {
  int reported = 0;
  if (status < 0) {
    // libuv stopped the handle itself (POLLERR); mirror that so start() can try again.
    reported = kPollError;
    SetActive(false);
  } else {
    reported = ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
  }
  // Read before the call: the callback may close this Poller (the object itself outlives the call, N-API
  // runs finalizers later from the loop).
  v8::Isolate* isolate = isolate_;
  if (function_.IsEmpty() || isolate->IsExecutionTerminating()) return;
  // A plain call, not MakeCallback: no async context and no callback scope of its own (Node's check phase
  // later in this loop turn drains microtasks and nextTicks; see Poller in types.ts).
  v8::HandleScope scope(isolate);
  v8::Local<v8::Context> context = context_.Get(isolate);
  v8::Context::Scope contextScope(context);
  v8::Local<v8::Function> function = function_.Get(isolate);
  v8::Local<v8::Value> argv[1] = {v8::Integer::New(isolate, reported)};
  v8::TryCatch tryCatch(isolate);
  if (!function->Call(context, v8::Undefined(isolate), 1, argv).IsEmpty()) return;
  // Empty without a catchable exception: the worker is terminating and refused the call.
  if (!tryCatch.HasCaught() || !tryCatch.CanContinue()) return;
  // Same as a throwing Node callback: route it to 'uncaughtException' (a napi_value is the Local's slot).
  v8::Local<v8::Value> exception = tryCatch.Exception();
  tryCatch.Reset();
  napi_value error;
  std::memcpy(&error, static_cast<void*>(&exception), sizeof(error));
  napi_fatal_exception(env_, error);
}

}  // namespace netio
