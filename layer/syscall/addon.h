// What the addon's modules share: each registers its functions on the exports (supervisor.cc
// holds the module's init), and a few conversions between N-API values and C.
#ifndef MIRRORD_SYSCALL_ADDON_H
#define MIRRORD_SYSCALL_ADDON_H

#include <napi.h>

#include <cstdint>
#include <sys/socket.h>

namespace mirrord {

using Function = Napi::Value (*)(const Napi::CallbackInfo&);
struct Export {
  const char* name;
  Function function;
};

void RegisterSockets(Napi::Env env, Napi::Object exports);
void RegisterStat(Napi::Env env, Napi::Object exports);
void RegisterWaits(Napi::Env env, Napi::Object exports);

inline void Register(Napi::Env env, Napi::Object exports, std::initializer_list<Export> functions) {
  for (const auto& [name, function] : functions) exports.Set(name, Napi::Function::New(env, function, name));
}

inline uint64_t BigIntArg(const Napi::Value& value) {
  bool lossless;
  return value.As<Napi::BigInt>().Uint64Value(&lossless);
}

inline int IntArg(const Napi::CallbackInfo& info, size_t at) { return info[at].As<Napi::Number>().Int32Value(); }

// 0 for success, else -errno: what the functions that make a call return.
inline Napi::Value Result(Napi::Env env, long result) { return Napi::Number::New(env, result >= 0 ? (double)result : -(double)errno); }

}  // namespace mirrord

#endif
