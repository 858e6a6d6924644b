// The CLI's native addon: a TCP connection to the loopback of another network namespace, for
// `--agent-netns` (a test pod that is a network namespace on this machine). The sidecar listens
// on its pod's loopback only, Node can't enter a namespace, and a relay process (ip netns exec …
// socat) would wake up twice more for every message of the session.
#include <napi.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

namespace {

struct Outcome {
  int fd = -1;
  int err = 0;
  const char* syscall = "";
};

Outcome Fail(Outcome out, int fd, const char* syscall) {
  out.err = errno;
  out.syscall = syscall;
  if (fd >= 0) close(fd);
  return out;
}

// Runs on a thread of its own that ends right after: only that thread enters the namespace, and a
// socket stays in the namespace it was made in, so no thread of the CLI is left there.
Outcome ConnectInside(const std::string& ns, int port, int timeoutMs) {
  Outcome out;
  int nsFd = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (nsFd < 0) return Fail(out, -1, "open");
  if (setns(nsFd, CLONE_NEWNET) != 0) {
    Outcome failed = Fail(out, -1, "setns");
    close(nsFd);
    return failed;
  }
  close(nsFd);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(out, -1, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return Fail(out, fd, "connect");
    // A signal delivered to this thread interrupts the wait: wait again for what is left of it.
    timespec start{};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int ready;
    for (;;) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      long elapsedMs = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      pollfd wait{fd, POLLOUT, 0};
      ready = poll(&wait, 1, elapsedMs >= timeoutMs ? 0 : static_cast<int>(timeoutMs - elapsedMs));
      if (ready >= 0 || errno != EINTR) break;
    }
    if (ready < 0) return Fail(out, fd, "poll");
    if (ready == 0) {
      errno = ETIMEDOUT;
      return Fail(out, fd, "connect");
    }
    int soError = 0;
    socklen_t length = sizeof(soError);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0) return Fail(out, fd, "getsockopt");
    if (soError != 0) {
      errno = soError;
      return Fail(out, fd, "connect");
    }
  }
  out.fd = fd;
  return out;
}

// The connection is made off the JS thread: a sidecar that doesn't answer would otherwise freeze
// the CLI (its session, its other replicas' streams) for the whole timeout, on every reconnect.
// The worker runs on a libuv pool thread, which must never enter the namespace (the pool's later
// file and DNS work would run there): it waits for a thread of its own that does.
class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string ns, int port, int timeoutMs)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), ns_(std::move(ns)), port_(port), timeoutMs_(timeoutMs) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    pthread_t inside;
    int failed = pthread_create(&inside, nullptr, &ConnectWorker::Inside, this);
    if (failed != 0) {
      out_.err = failed;
      out_.syscall = "pthread_create";
      return;
    }
    pthread_join(inside, nullptr);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (out_.fd >= 0) return deferred_.Resolve(Napi::Number::New(env, out_.fd));
    Napi::Error error = Napi::Error::New(env, std::string(out_.syscall) + ": " + strerror(out_.err));
    const char* code = strerrorname_np(out_.err);
    error.Set("errno", Napi::Number::New(env, out_.err));
    error.Set("code", Napi::String::New(env, code ? code : "EIO"));
    error.Set("syscall", Napi::String::New(env, out_.syscall));
    deferred_.Reject(error.Value());
  }

 private:
  static void* Inside(void* self) {
    auto* worker = static_cast<ConnectWorker*>(self);
    worker->out_ = ConnectInside(worker->ns_, worker->port_, worker->timeoutMs_);
    return nullptr;
  }

  Napi::Promise::Deferred deferred_;
  std::string ns_;
  int port_;
  int timeoutMs_;
  Outcome out_;
};

// connectInNetns(namespacePath, port, timeoutMs) -> Promise of the fd of a connected, non-blocking TCP socket
Napi::Value ConnectInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "connectInNetns(namespacePath: string, port: number, timeoutMs: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new ConnectWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().Int32Value(),
                                   info[2].As<Napi::Number>().Int32Value());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connectInNetns", Napi::Function::New(env, ConnectInNetns));
  return exports;
}

}  // namespace

NODE_API_MODULE(mirrord_cli_native, Init)
