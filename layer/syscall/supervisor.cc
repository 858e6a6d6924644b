// The syscall mode's native half in the mirrord process (the addon mirrord_syscall): takes the
// notification descriptor of a program started by mirrord-syscall-launcher, receives its trapped
// calls on a thread of its own and hands each to JavaScript (intproxy/syscalls/), and gives that
// side what it needs to answer: the calling process's memory and descriptors, a descriptor added
// to it, and the socket calls Node has no API for. Nothing here decides anything.
#include <napi.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <thread>
#include <unistd.h>

#include "trapped.h"

namespace {

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

uint64_t BigIntArg(const Napi::Value& value) {
  bool lossless;
  return value.As<Napi::BigInt>().Uint64Value(&lossless);
}

struct Notification {
  uint64_t id;
  uint32_t pid;
  int32_t nr;
  uint64_t args[6];
};

// One supervised program: its notification descriptor and the thread that receives from it.
struct Supervision {
  int fd;
  Napi::ThreadSafeFunction deliver;
};

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
    auto* notification = new Notification{request->id, request->pid, request->data.nr, {}};
    memcpy(notification->args, request->data.args, sizeof notification->args);
    napi_status status = supervision->deliver.BlockingCall(notification, [](Napi::Env env, Napi::Function callback, Notification* n) {
      Napi::Array args = Napi::Array::New(env, 6);
      for (uint32_t i = 0; i < 6; i++) args.Set(i, Napi::BigInt::New(env, n->args[i]));
      Napi::Object value = Napi::Object::New(env);
      value.Set("id", Napi::BigInt::New(env, n->id));
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
  auto* supervision = new Supervision{fd, Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "mirrord-syscalls", 0, 1)};
  std::thread(Receive, supervision).detach();
  return Napi::Number::New(env, fd);
}

// respond(notifyFd, id, value, error, continue) -> 0 or -errno (ENOENT: the caller is gone)
Napi::Value Respond(const Napi::CallbackInfo& info) {
  struct seccomp_notif_resp response = {};
  int fd = info[0].As<Napi::Number>().Int32Value();
  response.id = BigIntArg(info[1]);
  response.val = info[2].As<Napi::Number>().Int64Value();
  response.error = info[3].As<Napi::Number>().Int32Value();
  if (info[4].As<Napi::Boolean>().Value()) response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  int result = ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &response);
  return Napi::Number::New(info.Env(), result == 0 ? 0 : -errno);
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

socklen_t Fill(int family, const std::string& ip, int port, struct sockaddr_storage* out) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET6) {
    auto* six = reinterpret_cast<struct sockaddr_in6*>(out);
    six->sin6_family = AF_INET6;
    six->sin6_port = htons(port);
    // An IPv4 address on an IPv6 socket: its mapped form.
    std::string text = ip.find(':') == std::string::npos ? "::ffff:" + ip : ip;
    if (inet_pton(AF_INET6, text.c_str(), &six->sin6_addr) != 1) return 0;
    return sizeof *six;
  }
  auto* four = reinterpret_cast<struct sockaddr_in*>(out);
  four->sin_family = AF_INET;
  four->sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &four->sin_addr) != 1) return 0;
  return sizeof *four;
}

int Family(int fd) {
  int family = 0;
  socklen_t length = sizeof family;
  return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length) == 0 ? family : -1;
}

// ip:port (the arguments at `at` and after) as an address of `fd`'s family, in `address`; its
// length, 0 when ip is no address.
socklen_t AddressArg(const Napi::CallbackInfo& info, int fd, size_t at, struct sockaddr_storage* address) {
  return Fill(Family(fd), info[at].As<Napi::String>().Utf8Value(), info[at + 1].As<Napi::Number>().Int32Value(), address);
}

// connectTo(fd, ip, port), bindTo(fd, ip, port) -> 0 or -errno (connect: -EINPROGRESS for a
// non-blocking socket)
template <int (*Call)(int, const struct sockaddr*, socklen_t)>
Napi::Value OnAddress(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct sockaddr_storage address;
  socklen_t length = AddressArg(info, fd, 1, &address);
  if (!length) return Napi::Number::New(info.Env(), -EINVAL);
  return Napi::Number::New(info.Env(), Call(fd, reinterpret_cast<struct sockaddr*>(&address), length) == 0 ? 0 : -errno);
}

// sendTo(fd, data, flags, ip, port) -> bytes sent or -errno
Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Buffer<char> data = info[1].As<Napi::Buffer<char>>();
  struct sockaddr_storage address;
  socklen_t length = AddressArg(info, fd, 3, &address);
  if (!length) return Napi::Number::New(info.Env(), -EINVAL);
  ssize_t sent = sendto(fd, data.Data(), data.Length(), info[2].As<Napi::Number>().Int32Value() | MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&address), length);
  return Napi::Number::New(info.Env(), sent >= 0 ? (double)sent : -errno);
}

// blocks(fd) -> whether calls on the open file wait (no O_NONBLOCK)
Napi::Value Blocks(const Napi::CallbackInfo& info) {
  int flags = fcntl(info[0].As<Napi::Number>().Int32Value(), F_GETFL);
  return Napi::Boolean::New(info.Env(), flags >= 0 && !(flags & O_NONBLOCK));
}

// listenOn(fd, backlog) -> 0 or -errno
Napi::Value ListenOn(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), listen(fd, info[1].As<Napi::Number>().Int32Value()) == 0 ? 0 : -errno);
}

Napi::Value Endpoint(Napi::Env env, const struct sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (address.ss_family == AF_INET) {
    auto* four = reinterpret_cast<const struct sockaddr_in*>(&address);
    inet_ntop(AF_INET, &four->sin_addr, text, sizeof text);
    port = ntohs(four->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* six = reinterpret_cast<const struct sockaddr_in6*>(&address);
    // An IPv4-mapped address as the IPv4 address it is (as the layer reports it).
    if (IN6_IS_ADDR_V4MAPPED(&six->sin6_addr))
      inet_ntop(AF_INET, &six->sin6_addr.s6_addr[12], text, sizeof text);
    else
      inet_ntop(AF_INET6, &six->sin6_addr, text, sizeof text);
    port = ntohs(six->sin6_port);
  } else {
    return env.Null();
  }
  Napi::Object endpoint = Napi::Object::New(env);
  endpoint.Set("address", Napi::String::New(env, text));
  endpoint.Set("port", Napi::Number::New(env, port));
  return endpoint;
}

// acceptFrom(fd, flags) -> { fd, peer } or -errno: accept4 on our descriptor of a listener
// that doesn't block (the caller checks), with the flags the program gave
Napi::Value AcceptFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct sockaddr_storage address = {};
  socklen_t length = sizeof address;
  int fd = accept4(info[0].As<Napi::Number>().Int32Value(), reinterpret_cast<struct sockaddr*>(&address), &length, info[1].As<Napi::Number>().Int32Value());
  if (fd < 0) return Napi::Number::New(env, -errno);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("peer", Endpoint(env, address));
  return result;
}

// socketInfo(fd) -> { family, type, inode, local, peer } (local/peer: { address, port } or null); null for a non-socket
Napi::Value SocketInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return env.Null();
  int type = 0;
  socklen_t length = sizeof type;
  getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length);
  Napi::Object result = Napi::Object::New(env);
  result.Set("family", Napi::Number::New(env, Family(fd)));
  result.Set("type", Napi::Number::New(env, type));
  result.Set("inode", Napi::Number::New(env, (double)st.st_ino));
  struct sockaddr_storage address = {};
  length = sizeof address;
  result.Set("local", getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == 0 ? Endpoint(env, address) : env.Null());
  address = {};
  length = sizeof address;
  result.Set("peer", getpeername(fd, reinterpret_cast<struct sockaddr*>(&address), &length) == 0 ? Endpoint(env, address) : env.Null());
  return result;
}

// parseSockaddr(buffer) -> { family, address, port } or null (another family, or too short)
Napi::Value ParseSockaddr(const Napi::CallbackInfo& info) {
  Napi::Buffer<char> data = info[0].As<Napi::Buffer<char>>();
  struct sockaddr_storage address = {};
  memcpy(&address, data.Data(), std::min(data.Length(), sizeof address));
  if ((address.ss_family == AF_INET && data.Length() < sizeof(struct sockaddr_in)) ||
      (address.ss_family == AF_INET6 && data.Length() < sizeof(struct sockaddr_in6)))
    return info.Env().Null();
  Napi::Value endpoint = Endpoint(info.Env(), address);
  if (endpoint.IsNull()) return endpoint;
  endpoint.As<Napi::Object>().Set("family", Napi::Number::New(info.Env(), address.ss_family));
  return endpoint;
}

// sockaddr(family, ip, port) -> the bytes of a sockaddr_in or sockaddr_in6
Napi::Value Sockaddr(const Napi::CallbackInfo& info) {
  struct sockaddr_storage address;
  socklen_t length = Fill(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int32Value(), &address);
  return Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<char*>(&address), length);
}

// The pod's stat of a file (protocol/messages.ts's Stat), as this architecture's struct stat.
struct stat StatOf(const Napi::Object& s) {
  auto number = [&](const char* key) { return s.Get(key).As<Napi::Number>().DoubleValue(); };
  auto time = [&](const char* key) {
    double ms = number(key);
    struct timespec t;
    t.tv_sec = (time_t)(ms / 1000);
    t.tv_nsec = (long)((ms - (double)t.tv_sec * 1000) * 1e6);
    return t;
  };
  struct stat out = {};
  out.st_dev = (dev_t)number("dev");
  out.st_ino = (ino_t)number("ino");
  out.st_mode = (mode_t)number("mode");
  out.st_nlink = (nlink_t)number("nlink");
  out.st_uid = (uid_t)number("uid");
  out.st_gid = (gid_t)number("gid");
  out.st_rdev = (dev_t)number("rdev");
  out.st_size = (off_t)number("size");
  out.st_blksize = (blksize_t)number("blksize");
  out.st_blocks = (blkcnt_t)number("blocks");
  out.st_atim = time("atimeMs");
  out.st_mtim = time("mtimeMs");
  out.st_ctim = time("ctimeMs");
  return out;
}

// encodeStat(stat) -> the bytes of this architecture's struct stat (what newfstatat writes)
Napi::Value EncodeStat(const Napi::CallbackInfo& info) {
  struct stat out = StatOf(info[0].As<Napi::Object>());
  return Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<char*>(&out), sizeof out);
}

// encodeStatx(stat) -> the bytes of a struct statx (the basic fields)
Napi::Value EncodeStatx(const Napi::CallbackInfo& info) {
  struct stat st = StatOf(info[0].As<Napi::Object>());
  auto timestamp = [](const struct timespec& t) { return statx_timestamp{t.tv_sec, (uint32_t)t.tv_nsec, 0}; };
  struct statx out = {};
  out.stx_mask = STATX_BASIC_STATS;
  out.stx_blksize = (uint32_t)st.st_blksize;
  out.stx_nlink = (uint32_t)st.st_nlink;
  out.stx_uid = st.st_uid;
  out.stx_gid = st.st_gid;
  out.stx_mode = (uint16_t)st.st_mode;
  out.stx_ino = st.st_ino;
  out.stx_size = (uint64_t)st.st_size;
  out.stx_blocks = (uint64_t)st.st_blocks;
  out.stx_atime = timestamp(st.st_atim);
  out.stx_mtime = timestamp(st.st_mtim);
  out.stx_ctime = timestamp(st.st_ctim);
  out.stx_dev_major = major(st.st_dev);
  out.stx_dev_minor = minor(st.st_dev);
  out.stx_rdev_major = major(st.st_rdev);
  out.stx_rdev_minor = minor(st.st_rdev);
  return Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<char*>(&out), sizeof out);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Object calls = Napi::Object::New(env);
#define NAME(name) calls.Set(#name, Napi::Number::New(env, __NR_##name));
  MIRRORD_TRAPPED(NAME)
  NAME(sendto)
#undef NAME
  exports.Set("calls", calls);
  const struct {
    const char* name;
    Napi::Value (*function)(const Napi::CallbackInfo&);
  } functions[] = {
      {"supervise", Supervise},        {"respond", Respond},           {"addFd", AddFd},
      {"takeFd", TakeFd},              {"readMemory", ReadMemory},     {"writeMemory", WriteMemory},
      {"connectTo", OnAddress<connect>}, {"bindTo", OnAddress<bind>},  {"listenOn", ListenOn},
      {"acceptFrom", AcceptFrom},      {"blocks", Blocks},             {"sendTo", SendTo},
      {"socketInfo", SocketInfo},      {"parseSockaddr", ParseSockaddr}, {"sockaddr", Sockaddr},
      {"encodeStat", EncodeStat},      {"encodeStatx", EncodeStatx},
  };
  for (const auto& [name, function] : functions) exports.Set(name, Napi::Function::New(env, function, name));
  return exports;
}

}  // namespace

NODE_API_MODULE(mirrord_syscall, Init)
