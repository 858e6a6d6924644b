// The socket calls the supervisor makes on its own descriptors of the program's sockets (a
// descriptor of ours for the same socket, from pidfd_getfd), which Node has no API for; and
// the conversions between socket addresses and { address, port }.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "addon.h"

namespace mirrord {
namespace {

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
  return Fill(Family(fd), info[at].As<Napi::String>().Utf8Value(), IntArg(info, at + 1), address);
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

// connectTo(fd, ip, port), bindTo(fd, ip, port) -> 0 or -errno (connect: -EINPROGRESS for a
// non-blocking socket)
template <int (*Call)(int, const struct sockaddr*, socklen_t)>
Napi::Value OnAddress(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  struct sockaddr_storage address;
  socklen_t length = AddressArg(info, fd, 1, &address);
  if (!length) return Napi::Number::New(info.Env(), -EINVAL);
  return Result(info.Env(), Call(fd, reinterpret_cast<struct sockaddr*>(&address), length));
}

// sendTo(fd, data, flags, ip, port, control?) -> bytes sent or -errno: one datagram, with the
// ancillary data of a sendmsg when there is some, never waiting
Napi::Value SendTo(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0);
  Napi::Buffer<char> data = info[1].As<Napi::Buffer<char>>();
  struct sockaddr_storage address;
  socklen_t length = AddressArg(info, fd, 3, &address);
  if (!length) return Napi::Number::New(info.Env(), -EINVAL);
  struct iovec iov = {data.Data(), data.Length()};
  struct msghdr message = {};
  message.msg_name = &address;
  message.msg_namelen = length;
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (info.Length() > 5 && info[5].IsBuffer()) {
    Napi::Buffer<char> control = info[5].As<Napi::Buffer<char>>();
    message.msg_control = control.Length() ? control.Data() : nullptr;
    message.msg_controllen = control.Length();
  }
  return Result(info.Env(), sendmsg(fd, &message, IntArg(info, 2) | MSG_DONTWAIT));
}

// receive(fd, capacity, controlCapacity, flags) -> { data, length, control, flags, from } or
// -errno: one datagram (at most `capacity` bytes of it; `length` is what recvmsg returned, the
// whole datagram's under MSG_TRUNC), never waiting
Napi::Value Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<char> data(info[1].As<Napi::Number>().Uint32Value());
  std::vector<char> control(info[2].As<Napi::Number>().Uint32Value());
  struct sockaddr_storage from = {};
  struct iovec iov = {data.data(), data.size()};
  struct msghdr message = {};
  message.msg_name = &from;
  message.msg_namelen = sizeof from;
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control.empty() ? nullptr : control.data();
  message.msg_controllen = control.size();
  ssize_t length = recvmsg(IntArg(info, 0), &message, IntArg(info, 3) | MSG_DONTWAIT);
  if (length < 0) return Napi::Number::New(env, -errno);
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", Napi::Buffer<char>::Copy(env, data.data(), std::min((size_t)length, data.size())));
  result.Set("length", Napi::Number::New(env, (double)length));
  result.Set("control", Napi::Buffer<char>::Copy(env, control.data(), message.msg_controllen));
  result.Set("flags", Napi::Number::New(env, message.msg_flags));
  result.Set("from", message.msg_namelen ? Endpoint(env, from) : env.Null());
  return result;
}

// blocks(fd) -> whether calls on the open file wait (no O_NONBLOCK)
Napi::Value Blocks(const Napi::CallbackInfo& info) {
  int flags = fcntl(IntArg(info, 0), F_GETFL);
  return Napi::Boolean::New(info.Env(), flags >= 0 && !(flags & O_NONBLOCK));
}

// listenOn(fd, backlog) -> 0 or -errno
Napi::Value ListenOn(const Napi::CallbackInfo& info) { return Result(info.Env(), listen(IntArg(info, 0), IntArg(info, 1))); }

// acceptFrom(fd, flags) -> { fd, peer } or -errno: accept4 on our descriptor of a listener, with
// the flags the program gave, never waiting. A blocking listener is made non-blocking for the
// call (the flag is the open file's, shared with the program; its accepts are trapped and
// answered one at a time by this process), and only the bit set here is cleared after. Our
// descriptor is close-on-exec whatever the program asked: the program's own gets its flag when
// it is put in.
Napi::Value AcceptFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int listener = IntArg(info, 0);
  int status = fcntl(listener, F_GETFL);
  bool blocking = status >= 0 && !(status & O_NONBLOCK);
  if (blocking) fcntl(listener, F_SETFL, status | O_NONBLOCK);
  struct sockaddr_storage address = {};
  socklen_t length = sizeof address;
  int fd = accept4(listener, reinterpret_cast<struct sockaddr*>(&address), &length, IntArg(info, 1) | SOCK_CLOEXEC);
  int err = errno;
  if (blocking) {
    int now = fcntl(listener, F_GETFL);
    if (now >= 0) fcntl(listener, F_SETFL, now & ~O_NONBLOCK);
  }
  if (fd < 0) return Napi::Number::New(env, -err);
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, fd));
  result.Set("peer", Endpoint(env, address));
  return result;
}

// socketInfo(fd) -> { family, type, inode, local, peer, receiveTimeoutMs } (local/peer:
// { address, port } or null; receiveTimeoutMs: SO_RCVTIMEO, 0 for none); null for a non-socket
Napi::Value SocketInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return env.Null();
  int type = 0;
  socklen_t length = sizeof type;
  getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length);
  struct timeval timeout = {};
  length = sizeof timeout;
  getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, &length);
  Napi::Object result = Napi::Object::New(env);
  result.Set("family", Napi::Number::New(env, Family(fd)));
  result.Set("type", Napi::Number::New(env, type));
  result.Set("inode", Napi::Number::New(env, (double)st.st_ino));
  result.Set("receiveTimeoutMs", Napi::Number::New(env, (double)timeout.tv_sec * 1000 + (double)timeout.tv_usec / 1000));
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

// sockaddr(family, ip, port) -> the bytes of a sockaddr_in or sockaddr_in6 (zero-padded: a
// resolver compares the whole struct with its name server's)
Napi::Value Sockaddr(const Napi::CallbackInfo& info) {
  struct sockaddr_storage address;
  socklen_t length = Fill(IntArg(info, 0), info[1].As<Napi::String>().Utf8Value(), IntArg(info, 2), &address);
  return Napi::Buffer<char>::Copy(info.Env(), reinterpret_cast<char*>(&address), length);
}

}  // namespace

void RegisterSockets(Napi::Env env, Napi::Object exports) {
  Register(env, exports,
           {{"connectTo", OnAddress<connect>}, {"bindTo", OnAddress<bind>}, {"listenOn", ListenOn}, {"acceptFrom", AcceptFrom},
            {"blocks", Blocks}, {"sendTo", SendTo}, {"receive", Receive}, {"socketInfo", SocketInfo},
            {"parseSockaddr", ParseSockaddr}, {"sockaddr", Sockaddr}});
}

}  // namespace mirrord
