// The event-loop watchdog (watchdog.cc): adds its functions to the addon's exports.
#pragma once
#include <napi.h>

void RegisterWatchdog(Napi::Env env, Napi::Object exports);
