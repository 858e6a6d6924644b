// Waiting without a thread, on the mirrord process's event loop: for a descriptor to be
// readable (a blocking call of the program's on an intercepted socket, made by the supervisor
// once it can't wait), and for a file opened for writing to be closed (a copy of a pod file the
// program wrote, which then goes back to the pod: the kernel tells with inotify's
// IN_CLOSE_WRITE when the program's last descriptor of it is gone).
#include <uv.h>

#include <cerrno>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "addon.h"

namespace mirrord {
namespace {

uv_loop_t* LoopOf(Napi::Env env) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

// One wait for readability, ended by the descriptor or the timer, whichever comes first.
// The descriptor is watched through an epoll descriptor of its own, which the loop polls:
// uv_poll_init would make the descriptor itself non-blocking, and O_NONBLOCK is the open
// file's, shared with the program, whose blocking calls would fail with EAGAIN meanwhile.
struct ReadableWait {
  napi_env env;
  Napi::FunctionReference callback;
  int epoll;
  uv_poll_t poll;
  uv_timer_t timer;
  int open = 2;  // handles not yet closed
};

void Closed(uv_handle_t* handle) {
  auto* wait = static_cast<ReadableWait*>(handle->data);
  if (--wait->open > 0) return;
  close(wait->epoll);
  delete wait;
}

void Finish(ReadableWait* wait, bool ready) {
  uv_poll_stop(&wait->poll);
  uv_timer_stop(&wait->timer);
  uv_close(reinterpret_cast<uv_handle_t*>(&wait->poll), Closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), Closed);
  Napi::Env env(wait->env);
  Napi::HandleScope scope(env);
  wait->callback.MakeCallback(env.Global(), {Napi::Boolean::New(env, ready)});
}

// whenReadable(fd, timeoutMs, callback(ready)) -> 0 or -errno: callback(true) once fd is
// readable (for a listener: has a connection), callback(false) after timeoutMs
Napi::Value WhenReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uv_loop_t* loop = LoopOf(env);
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return Napi::Number::New(env, -errno);
  struct epoll_event readable = {};
  readable.events = EPOLLIN;
  int failed = epoll_ctl(epoll, EPOLL_CTL_ADD, IntArg(info, 0), &readable) == 0 ? 0 : -errno;
  auto* wait = new ReadableWait{env, Napi::Persistent(info[2].As<Napi::Function>()), epoll, {}, {}};
  if (!failed) failed = uv_poll_init(loop, &wait->poll, epoll);  // libuv's errors are -errno too
  if (failed) {
    close(epoll);
    delete wait;
    return Napi::Number::New(env, failed);
  }
  uv_timer_init(loop, &wait->timer);
  wait->poll.data = wait->timer.data = wait;
  uv_poll_start(&wait->poll, UV_READABLE, [](uv_poll_t* poll, int, int) { Finish(static_cast<ReadableWait*>(poll->data), true); });
  uv_timer_start(&wait->timer, [](uv_timer_t* timer) { Finish(static_cast<ReadableWait*>(timer->data), false); },
                 info[1].As<Napi::Number>().Int64Value(), 0);
  return Napi::Number::New(env, 0);
}

// The close watcher: one inotify descriptor, polled on the event loop (without keeping it alive).
struct CloseWatcher {
  napi_env env;
  Napi::FunctionReference readable;
  uv_poll_t poll;
};

// readCloses(watcherFd) -> the watches (watchClose results) of the files closed after writing
// since the last read: what the kernel has queued now (a close the program made before its next
// call is queued by then), not when the event loop comes to it
Napi::Value ReadCloses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array closed = Napi::Array::New(env);
  alignas(struct inotify_event) char events[4096];
  ssize_t length;
  while ((length = read(IntArg(info, 0), events, sizeof events)) > 0) {
    for (char* at = events; at < events + length;) {
      auto* event = reinterpret_cast<struct inotify_event*>(at);
      if (event->mask & IN_CLOSE_WRITE) closed.Set(closed.Length(), Napi::Number::New(env, event->wd));
      at += sizeof *event + event->len;
    }
  }
  return closed;
}

// watchCloses(readable()) -> the watcher's inotify descriptor, or -errno; readable() is called
// when it has close events to read (readCloses)
Napi::Value WatchCloses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Napi::Number::New(env, -errno);
  auto* watcher = new CloseWatcher{env, Napi::Persistent(info[0].As<Napi::Function>()), {}};
  uv_poll_init(LoopOf(env), &watcher->poll, fd);
  watcher->poll.data = watcher;
  uv_poll_start(&watcher->poll, UV_READABLE, [](uv_poll_t* poll, int, int) {
    auto* watcher = static_cast<CloseWatcher*>(poll->data);
    Napi::Env env(watcher->env);
    Napi::HandleScope scope(env);
    watcher->readable.MakeCallback(env.Global(), {});
  });
  // Files still being written don't keep mirrord running: the program's end does, and then
  // the supervisor sends back what is left.
  uv_unref(reinterpret_cast<uv_handle_t*>(&watcher->poll));
  return Napi::Number::New(env, fd);
}

// watchClose(watcherFd, path) -> the watch, or -errno: one close after writing, then no more
Napi::Value WatchClose(const Napi::CallbackInfo& info) {
  std::string path = info[1].As<Napi::String>().Utf8Value();
  return Result(info.Env(), inotify_add_watch(IntArg(info, 0), path.c_str(), IN_CLOSE_WRITE | IN_ONESHOT));
}

}  // namespace

void RegisterWaits(Napi::Env env, Napi::Object exports) {
  Register(env, exports, {{"whenReadable", WhenReadable}, {"watchCloses", WatchCloses}, {"watchClose", WatchClose}, {"readCloses", ReadCloses}});
}

}  // namespace mirrord
