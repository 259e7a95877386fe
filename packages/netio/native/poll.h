// Readiness for any fd (the TUN is a character device, so Node's streams cannot watch it): a libuv
// uv_poll_t on this environment's loop, calling JS once per readiness event. While started, the JS object
// holds itself alive (like a Node handle). On env teardown (worker exit) an async cleanup hook closes the
// libuv handle so the loop can close.
#pragma once

#include <napi.h>
#include <uv.h>

namespace netio {

class Poller;

// Owned by libuv from uv_poll_init until the close callback, so it can outlive the Poller object.
struct PollWatch {
  uv_poll_t handle;
  Poller* owner;
  napi_async_cleanup_hook_handle cleanupHook;
  bool closing;
};

class Poller : public Napi::ObjectWrap<Poller> {
 public:
  static Napi::Function Define(Napi::Env env);
  // new Poller(fd, callback)
  explicit Poller(const Napi::CallbackInfo& info);
  ~Poller() override;

  // Called by libuv.
  void OnEvent(int status, int events);
  // Env teardown: forget the watch (the hook closes it).
  void Detach();

 private:
  void Start(const Napi::CallbackInfo& info);
  void Stop(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  void SetActive(bool active);
  void Release();

  PollWatch* watch_ = nullptr;
  bool active_ = false;
  Napi::FunctionReference callback_;
};

}  // namespace netio
