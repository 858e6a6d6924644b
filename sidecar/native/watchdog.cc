// The event-loop watchdog: a thread of its own, outside Node's event loop, that notices when the
// loop has not beaten for `stallMs` and then removes the jump to the sidecar's nat chain, so
// new connections reach the app directly instead of a listener nobody serves. It is native
// (not a worker thread) because a worker is a second V8 isolate, megabytes the pod's memory
// limit can't spare, and because it must keep working whatever the JavaScript side is doing.
#include "watchdog.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <mutex>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace {

std::atomic<int64_t> lastBeatMs{0};
std::atomic<uint32_t> trips{0};
std::once_flag startOnce;

// What to watch for, set by watchdogStart and cleared by watchdogStop (a stopped sidecar's chain
// is none of the watchdog's business, even if the process lives on).
struct Settings {
  bool armed = false;
  int64_t stallMs = 0;
  std::string iptables;
  std::string chain;
};
// Never destroyed: the thread may be waiting on them when the process exits, and glibc's
// pthread_cond_destroy (run by a static destructor at exit) waits for its waiters, for ever.
std::mutex& settingsLock = *new std::mutex;
std::condition_variable& settingsChanged = *new std::condition_variable;
Settings& settings = *new Settings;

Settings Current() {
  std::lock_guard<std::mutex> hold(settingsLock);
  return settings;
}

int64_t MonotonicMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Runs argv[0] (looked up in PATH) and waits for it, at most 10 s (a stuck iptables is killed:
// the next stall must find the watchdog waiting, not still in this call); its exit status, or -1.
// Node's libuv reaps only the children it started itself, so this waitpid gets ours.
int Run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  const timespec tick = {0, 50 * 1000000};
  for (int waited = 0;; waited++) {
    int status;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0 && errno != EINTR) return -1;
    if (waited == 200) kill(pid, SIGKILL);  // 10 s; the next round reaps it
    nanosleep(&tick, nullptr);
  }
}

void Say(const std::string& message) {
  // The loop that writes the sidecar's log is the one that is stuck: straight to stderr.
  std::string line = "{\"level\":\"warn\",\"component\":\"watchdog\",\"msg\":\"" + message + "\"}\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

void Watch() {
  bool tripped = false;
  for (;;) {
    Settings now;
    {
      // Disarmed (no jump to remove: a pod without a session), the thread sleeps until armed
      // again, costing an idle sidecar no wake-ups.
      std::unique_lock<std::mutex> hold(settingsLock);
      settingsChanged.wait(hold, [] { return settings.armed; });
      now = settings;
    }
    const timespec period = {0, static_cast<long>(std::clamp<int64_t>(now.stallMs / 4, 20, 250)) * 1000000};
    nanosleep(&period, nullptr);
    if (!Current().armed) continue;
    int64_t silentMs = MonotonicMs() - lastBeatMs.load();
    if (silentMs < now.stallMs) {
      tripped = false;
      continue;
    }
    if (tripped) continue;
    tripped = true;
    // A jump can appear more than once (after crashes): remove them all. The chain itself stays,
    // so connections already redirected keep their NAT state.
    int removed = 0;
    while (removed < 16 && Run({now.iptables, "-w", "5", "-t", "nat", "-D", "PREROUTING", "-j", now.chain}) == 0) removed++;
    trips++;
    Say("the event loop has not run for " + std::to_string(silentMs) + " ms: removed " + std::to_string(removed) + " jump(s) to " +
        now.chain + ", new connections go to the app");
  }
}

// watchdogStart(stallMs, iptables, chain): arms the watchdog, starting its thread the first time.
Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsString()) {
    Napi::TypeError::New(env, "watchdogStart(stallMs: number, iptables: string, chain: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  lastBeatMs = MonotonicMs();
  {
    std::lock_guard<std::mutex> hold(settingsLock);
    settings = {true, info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::String>().Utf8Value()};
  }
  settingsChanged.notify_all();
  std::call_once(startOnce, [] { std::thread(Watch).detach(); });
  return env.Undefined();
}

// watchdogStop(): disarms it (the thread sleeps until armed again).
Napi::Value Stop(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> hold(settingsLock);
  settings.armed = false;
  return info.Env().Undefined();
}

// watchdogBeat(): the loop is alive now. Returns how many times the watchdog has tripped so far.
Napi::Value Beat(const Napi::CallbackInfo& info) {
  lastBeatMs = MonotonicMs();
  return Napi::Number::New(info.Env(), trips.load());
}

}  // namespace

void RegisterWatchdog(Napi::Env env, Napi::Object exports) {
  exports.Set("watchdogStart", Napi::Function::New(env, Start));
  exports.Set("watchdogBeat", Napi::Function::New(env, Beat));
  exports.Set("watchdogStop", Napi::Function::New(env, Stop));
}
