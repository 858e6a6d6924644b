// The syscall mode's native half in the mirrord process (the addon mirrord_syscall): takes the
// notification descriptor of a program started by mirrord-syscall-launcher, receives its trapped
// calls on a thread of its own and hands each to JavaScript (intproxy/syscalls/), and gives that
// side what it needs to answer: the calling process's memory and descriptors, a descriptor added
// to it (sockets.cc, stat.cc and waits.cc the rest). Nothing here decides anything, but for the
// calls trapped only because they might concern an intercepted socket, which the receiving
// thread lets through itself when they can't.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "addon.h"
#include "trapped.h"

namespace mirrord {
namespace {

// Linux 6.6: the program's trapped calls and their answers switch straight to the waiting thread
// on the same CPU instead of waking it through the scheduler (a trapped call's round trip is
// several times shorter). Before 6.6 the request fails and nothing changes.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

// A pidfd for the process (or, with a thread's id, that thread: the caller of a notification
// is a thread, and any thread of the program may make a trapped call). Before Linux 6.9 a
// thread's id needs its process's: the Tgid of /proc/TID/status.
int PidfdOpen(pid_t pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, PIDFD_THREAD);
  if (fd >= 0 || errno != EINVAL) return fd;
  // Before 6.9 (no PIDFD_THREAD): a thread that doesn't lead its group gets EINVAL (or ENOENT), so
  // its process's id is looked up.
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE* status = fopen(path, "r");
  if (!status) return -1;
  char line[256];
  pid_t tgid = 0;
  while (fgets(line, sizeof line, status))
    if (sscanf(line, "Tgid: %d", &tgid) == 1) break;
  fclose(status);
  return tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
}
int PidfdGetfd(int pidfd, int fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); }

struct Notification {
  uint64_t id;
  int fd;
  uint32_t pid;
  int32_t nr;
  uint64_t args[6];
};

// One supervised program: its notification descriptor and the thread that receives from it.
struct Supervision {
  int fd;
  Napi::ThreadSafeFunction deliver;
};

// The descriptor numbers (in any process of the program) of the sockets whose received
// datagrams the supervisor must see (their sender's address is one it translates): a recvfrom
// or recvmsg on any other number runs at once. Past the set's size, every number is watched.
constexpr int kWatchable = 65536;
std::atomic<uint64_t> watched[kWatchable / 64];

bool Watched(uint64_t fd) { return fd >= kWatchable || (watched[fd / 64].load(std::memory_order_relaxed) >> (fd % 64)) & 1; }

// Whether a call trapped for what it might concern can't concern it, and runs as made: a receive
// on a socket not watched, a sendmsg naming no address (a struct msghdr starts with msg_name).
bool RunsAsMade(const struct seccomp_notif& request) {
  if (request.data.nr == __NR_recvfrom || request.data.nr == __NR_recvmsg) return !Watched(request.data.args[0]);
  if (request.data.nr != __NR_sendmsg) return false;
  uint64_t name = 0;
  struct iovec local = {&name, sizeof name};
  struct iovec remote = {reinterpret_cast<void*>(request.data.args[1]), sizeof name};
  return process_vm_readv(request.pid, &local, 1, &remote, 1, 0) != sizeof name || name == 0;
}

int Continue(int fd, uint64_t id) {
  struct seccomp_notif_resp response = {};
  response.id = id;
  response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &response);
}

void Receive(Supervision* supervision) {
  struct seccomp_notif_sizes sizes = {};
  syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes);
  std::vector<char> buffer(std::max<size_t>(sizes.seccomp_notif, sizeof(struct seccomp_notif)));
  for (;;) {
    struct pollfd ready = {supervision->fd, POLLIN, 0};
    if (poll(&ready, 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    // Every process of the program has exited: nothing can call any more.
    if (ready.revents & (POLLHUP | POLLERR | POLLNVAL)) break;
    memset(buffer.data(), 0, buffer.size());
    auto* request = reinterpret_cast<struct seccomp_notif*>(buffer.data());
    if (ioctl(supervision->fd, SECCOMP_IOCTL_NOTIF_RECV, request) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;  // the caller was killed meanwhile
      break;
    }
    if (RunsAsMade(*request)) {
      Continue(supervision->fd, request->id);
      continue;
    }
    auto* notification = new Notification{request->id, supervision->fd, request->pid, request->data.nr, {}};
    memcpy(notification->args, request->data.args, sizeof notification->args);
    napi_status status = supervision->deliver.BlockingCall(notification, [](Napi::Env env, Napi::Function callback, Notification* n) {
      Napi::Array args = Napi::Array::New(env, 6);
      for (uint32_t i = 0; i < 6; i++) args.Set(i, Napi::BigInt::New(env, n->args[i]));
      Napi::Object value = Napi::Object::New(env);
      value.Set("id", Napi::BigInt::New(env, n->id));
      value.Set("notifyFd", Napi::Number::New(env, n->fd));
      value.Set("pid", Napi::Number::New(env, n->pid));
      value.Set("nr", Napi::Number::New(env, n->nr));
      value.Set("args", args);
      delete n;
      callback.Call({value});
    });
    if (status != napi_ok) {
      delete notification;
      break;
    }
  }
  // JavaScript learns the end by a notification of nothing, and closes the descriptor.
  supervision->deliver.BlockingCall([](Napi::Env env, Napi::Function callback) { callback.Call({env.Null()}); });
  supervision->deliver.Release();
  delete supervision;
}

// supervise(pid, fdInPid, onNotification) -> our notification fd. onNotification(null) at the end.
Napi::Value Supervise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int remote = info[1].As<Napi::Number>().Int32Value();
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) return Napi::Number::New(env, -errno);
  int fd = PidfdGetfd(pidfd, remote);
  int err = errno;
  close(pidfd);
  if (fd < 0) return Napi::Number::New(env, -err);
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
  auto* supervision = new Supervision{fd, Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "mirrord-syscalls", 0, 1)};
  std::thread(Receive, supervision).detach();
  return Napi::Number::New(env, fd);
}

// watchReceives(fd): the program's receives on descriptor number fd come to JavaScript
Napi::Value WatchReceives(const Napi::CallbackInfo& info) {
  uint32_t fd = info[0].As<Napi::Number>().Uint32Value();
  if (fd < kWatchable) watched[fd / 64].fetch_or(uint64_t{1} << (fd % 64));
  return info.Env().Undefined();
}

// idValid(notifyFd, id) -> whether the call still waits for its answer (its thread wasn't
// interrupted or killed meanwhile): a call made in the program's place is made only while it is
Napi::Value IdValid(const Napi::CallbackInfo& info) {
  uint64_t id = BigIntArg(info[1]);
  return Napi::Boolean::New(info.Env(), ioctl(IntArg(info, 0), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0);
}

// respond(notifyFd, id, value, error, continue) -> 0 or -errno (ENOENT: the caller is gone)
Napi::Value Respond(const Napi::CallbackInfo& info) {
  struct seccomp_notif_resp response = {};
  int fd = IntArg(info, 0);
  response.id = BigIntArg(info[1]);
  response.val = info[2].As<Napi::Number>().Int64Value();
  response.error = IntArg(info, 3);
  if (info[4].As<Napi::Boolean>().Value()) response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  return Result(info.Env(), ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &response));
}

// addFd(notifyFd, id, fd, cloexec) -> the descriptor's number in the caller, which the call returns; or -errno
Napi::Value AddFd(const Napi::CallbackInfo& info) {
  struct seccomp_notif_addfd add = {};
  int fd = info[0].As<Napi::Number>().Int32Value();
  add.id = BigIntArg(info[1]);
  add.srcfd = info[2].As<Napi::Number>().Uint32Value();
  add.newfd_flags = info[3].As<Napi::Boolean>().Value() ? O_CLOEXEC : 0;
  add.flags = SECCOMP_ADDFD_FLAG_SEND;
  int result = ioctl(fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
  return Napi::Number::New(info.Env(), result >= 0 ? result : -errno);
}

// takeFd(pid, fd) -> a descriptor of ours for the same open file, or -errno
Napi::Value TakeFd(const Napi::CallbackInfo& info) {
  int pidfd = PidfdOpen(info[0].As<Napi::Number>().Int32Value());
  if (pidfd < 0) return Napi::Number::New(info.Env(), -errno);
  int fd = PidfdGetfd(pidfd, info[1].As<Napi::Number>().Int32Value());
  int err = errno;
  close(pidfd);
  return Napi::Number::New(info.Env(), fd >= 0 ? fd : -err);
}

// readMemory(pid, address, length, string?) -> Buffer of what could be read (shorter at an unmapped
// page; with `string`, from the page holding its NUL on, it stops)
Napi::Value ReadMemory(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  uint64_t address = BigIntArg(info[1]);
  size_t length = info[2].As<Napi::Number>().Uint32Value();
  bool string = info.Length() > 3 && info[3].As<Napi::Boolean>().Value();
  std::vector<char> data(length);
  size_t got = 0;
  // Page by page: process_vm_readv stops at the first page it can't read; a string ends at its NUL.
  while (got < length && !(string && memchr(data.data(), 0, got))) {
    size_t page = 4096 - ((address + got) % 4096);
    size_t want = std::min(page, length - got);
    struct iovec local = {data.data() + got, want};
    struct iovec remote = {reinterpret_cast<void*>(address + got), want};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) break;
    got += n;
  }
  return Napi::Buffer<char>::Copy(info.Env(), data.data(), got);
}

// writeMemory(pid, address, buffer) -> 0 or -errno
Napi::Value WriteMemory(const Napi::CallbackInfo& info) {
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  uint64_t address = BigIntArg(info[1]);
  Napi::Buffer<char> data = info[2].As<Napi::Buffer<char>>();
  struct iovec local = {data.Data(), data.Length()};
  struct iovec remote = {reinterpret_cast<void*>(address), data.Length()};
  ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n == (ssize_t)data.Length()) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), n < 0 ? -errno : -EFAULT);
}

}  // namespace
}  // namespace mirrord

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace mirrord;
  Napi::Object calls = Napi::Object::New(env);
#define NAME(name, ...) calls.Set(#name, Napi::Number::New(env, __NR_##name));
  MIRRORD_TRAPPED(NAME)
  MIRRORD_TRAPPED_WITH_ADDRESS(NAME)
#undef NAME
  exports.Set("calls", calls);
  Register(env, exports,
           {{"supervise", Supervise}, {"respond", Respond}, {"addFd", AddFd}, {"takeFd", TakeFd},
            {"readMemory", ReadMemory}, {"writeMemory", WriteMemory}, {"watchReceives", WatchReceives}, {"idValid", IdValid}});
  RegisterSockets(env, exports);
  RegisterStat(env, exports);
  RegisterWaits(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mirrord_syscall, Init)
