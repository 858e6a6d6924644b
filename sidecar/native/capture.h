// Mirroring by packet capture (capture.cc).
#pragma once

#include <napi.h>

void RegisterCapture(Napi::Env env, Napi::Object exports);
