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
  // The commands that remove the jumps to our chain, each run until it fails (a jump can appear
  // more than once after crashes).
  std::vector<std::vector<std::string>> removals;
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
    // The chain itself stays, so connections already redirected keep their NAT state.
    int removed = 0;
    for (const std::vector<std::string>& removal : now.removals) {
      for (int times = 0; times < 16 && Run(removal) == 0; times++) removed++;
    }
    trips++;
    Say("the event loop has not run for " + std::to_string(silentMs) + " ms: removed " + std::to_string(removed) +
        " jump(s) to the sidecar's chain, new connections go to the app");
  }
}

// watchdogStart(stallMs, removals): arms the watchdog, starting its thread the first time.
// `removals` is a list of commands (argv lists) that each remove one jump to our chain.
Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "watchdogStart(stallMs: number, removals: string[][])";
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsArray()) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<std::vector<std::string>> removals;
  Napi::Array list = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value item = list[i];
    if (!item.IsArray() || item.As<Napi::Array>().Length() == 0) {
      Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array words = item.As<Napi::Array>();
    std::vector<std::string> argv;
    for (uint32_t j = 0; j < words.Length(); j++) {
      Napi::Value word = words[j];
      if (!word.IsString()) {
        Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
        return env.Undefined();
      }
      argv.push_back(word.As<Napi::String>().Utf8Value());
    }
    removals.push_back(std::move(argv));
  }
  lastBeatMs = MonotonicMs();
  {
    std::lock_guard<std::mutex> hold(settingsLock);
    settings = {true, info[0].As<Napi::Number>().Int64Value(), std::move(removals)};
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
