// System calls Node doesn't expose, for the sidecar: the original destination of a
// REDIRECTed connection, and path resolution confined to a root directory.
#include <napi.h>

#include "capture.h"
#include "watchdog.h"

#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <cstring>
#include <functional>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/openat2.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

Napi::Value ErrnoError(Napi::Env env, int err, const char* syscall) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  error.Set("errno", Napi::Number::New(env, err));
  error.Set("code", Napi::String::New(env, strerrorname_np(err) ? strerrorname_np(err) : "EIO"));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// originalDestination(fd) -> { address, port, family }
Napi::Value OriginalDestination(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "originalDestination(fd: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  char text[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  int family = 4;
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &addr, &len) == 0) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else {
    len = sizeof(addr);
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &addr, &len) != 0) {
      return ErrnoError(env, errno, "getsockopt(SO_ORIGINAL_DST)");
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
    family = 6;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("address", Napi::String::New(env, text));
  result.Set("port", Napi::Number::New(env, port));
  result.Set("family", Napi::Number::New(env, family));
  return result;
}

// The file calls below run in libuv's thread pool and settle a promise, never blocking the event
// loop: on a network volume whose server stopped answering, even a path lookup can wait forever.
class SyscallWorker : public Napi::AsyncWorker {
 public:
  // `call` runs in the pool: a result >= 0 (an fd, 0, or the length of `text`), or -1 with errno.
  SyscallWorker(Napi::Env env, const char* name, std::function<long(std::string& text)> call)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), name_(name), call_(std::move(call)) {}

  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  void Execute() override {
    result_ = call_(text_);
    if (result_ < 0) error_ = errno;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_ < 0) {
      Napi::Error error = Napi::Error::New(env, std::string(name_) + ": " + strerror(error_));
      error.Set("errno", Napi::Number::New(env, error_));
      error.Set("code", Napi::String::New(env, strerrorname_np(error_) ? strerrorname_np(error_) : "EIO"));
      error.Set("syscall", Napi::String::New(env, name_));
      deferred_.Reject(error.Value());
    } else if (text_.empty()) {
      deferred_.Resolve(Napi::Number::New(env, static_cast<double>(result_)));
    } else {
      deferred_.Resolve(Napi::String::New(env, text_));
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  const char* name_;
  std::function<long(std::string&)> call_;
  std::string text_;
  long result_ = 0;
  int error_ = 0;
};

Napi::Value Start(Napi::Env env, const char* name, std::function<long(std::string&)> call) {
  return (new SyscallWorker(env, name, std::move(call)))->Start();
}

// openInRoot(rootFd, path, flags, mode) -> Promise<fd>. The kernel resolves `path` as if rootFd
// were "/": absolute symlinks and ".." stay inside it, and /proc magic links are refused.
Napi::Value OpenInRoot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "openInRoot(rootFd: number, path: string, flags: number, mode: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int root = info[0].As<Napi::Number>().Int32Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  open_how how{};
  how.flags = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()) | O_CLOEXEC;
  how.mode = (how.flags & (O_CREAT | O_TMPFILE)) ? info[3].As<Napi::Number>().Uint32Value() : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return Start(env, "openat2", [root, path, how](std::string&) { return syscall(SYS_openat2, root, path.c_str(), &how, sizeof(how)); });
}

// readlinkFd(fd) -> Promise<target> of the symlink opened with O_PATH | O_NOFOLLOW.
Napi::Value ReadlinkFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "readlinkFd(fd: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  return Start(env, "readlinkat", [fd](std::string& text) -> long {
    char buf[PATH_MAX];
    ssize_t n = readlinkat(fd, "", buf, sizeof(buf));
    if (n < 0) return -1;
    // An empty target can't be: a symlink always names something. The text is the result.
    text.assign(buf, static_cast<size_t>(n));
    return n;
  });
}

// renameAt(fromDirFd, fromName, toDirFd, toName, flags) -> Promise<0>: renameat2(2), whose flags
// (RENAME_NOREPLACE, RENAME_EXCHANGE) Node's rename has no way to pass.
Napi::Value RenameAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsString() || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "renameAt(fromDirFd: number, fromName: string, toDirFd: number, toName: string, flags: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fromDir = info[0].As<Napi::Number>().Int32Value();
  std::string from = info[1].As<Napi::String>().Utf8Value();
  int toDir = info[2].As<Napi::Number>().Int32Value();
  std::string to = info[3].As<Napi::String>().Utf8Value();
  unsigned flags = info[4].As<Napi::Number>().Uint32Value();
  return Start(env, "renameat2", [=](std::string&) { return syscall(SYS_renameat2, fromDir, from.c_str(), toDir, to.c_str(), flags); });
}

// Fills `addr` from a textual IPv4 or IPv6 address and a port; its length, or 0 if not an address.
socklen_t SocketAddress(const std::string& text, int port, sockaddr_storage& addr) {
  addr = {};
  auto* in = reinterpret_cast<sockaddr_in*>(&addr);
  if (inet_pton(AF_INET, text.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET6, text.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    return sizeof(sockaddr_in6);
  }
  return 0;
}

// transparentConnect(fromAddress, fromPort, toAddress, toPort, mark) -> fd: a non-blocking TCP
// socket bound to an address that isn't the pod's (the client's, IP_TRANSPARENT) and marked
// (SO_MARK, so the pod's rules route the app's replies back to it), its connect under way. The
// app then sees the client's own address. Node's net.Socket takes the fd: its first write waits
// until the connection is made, and a refused one errors on read or write.
Napi::Value TransparentConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString() || !info[3].IsNumber() || !info[4].IsNumber()) {
    Napi::TypeError::New(env, "transparentConnect(fromAddress: string, fromPort: number, toAddress: string, toPort: number, mark: number)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sockaddr_storage from, to;
  socklen_t fromLength = SocketAddress(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(), from);
  socklen_t toLength = SocketAddress(info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::Number>().Int32Value(), to);
  if (fromLength == 0 || toLength == 0 || from.ss_family != to.ss_family) {
    Napi::TypeError::New(env, "transparentConnect: two addresses of one family").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = socket(from.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(env, errno, "socket");
  const int on = 1;
  const int mark = info[4].As<Napi::Number>().Int32Value();
  const bool v6 = from.ss_family == AF_INET6;
  const char* failed = nullptr;
  if (setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &on, sizeof(on)) != 0) {
    failed = "setsockopt(IP_TRANSPARENT)";
  } else if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) != 0) {
    failed = "setsockopt(SO_MARK)";
  } else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
    failed = "setsockopt(SO_REUSEADDR)";
  } else if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0) {
    failed = "setsockopt(TCP_NODELAY)";
  } else if (bind(fd, reinterpret_cast<sockaddr*>(&from), fromLength) != 0) {
    failed = "bind";
  } else if (connect(fd, reinterpret_cast<sockaddr*>(&to), toLength) != 0 && errno != EINPROGRESS) {
    failed = "connect";
  }
  if (failed) {
    int err = errno;
    close(fd);
    return ErrnoError(env, err, failed);
  }
  return Napi::Number::New(env, fd);
}

// trimMemory(): gives the memory malloc holds free back to the system (malloc_trim(3)): after a
// burst, freed buffers sit between live ones where glibc would otherwise keep them.
Napi::Value TrimMemory(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("trimMemory", Napi::Function::New(env, TrimMemory));
  exports.Set("transparentConnect", Napi::Function::New(env, TransparentConnect));
  exports.Set("renameAt", Napi::Function::New(env, RenameAt));
  exports.Set("originalDestination", Napi::Function::New(env, OriginalDestination));
  exports.Set("openInRoot", Napi::Function::New(env, OpenInRoot));
  exports.Set("readlinkFd", Napi::Function::New(env, ReadlinkFd));
  RegisterWatchdog(env, exports);
  RegisterCapture(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sidecar_native, Init)
