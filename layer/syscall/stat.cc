// The pod's stat of a file (protocol/messages.ts's Stat) in the shapes the stat calls write:
// this architecture's struct stat, and struct statx.
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "addon.h"

namespace mirrord {
namespace {

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

}  // namespace

void RegisterStat(Napi::Env env, Napi::Object exports) { Register(env, exports, {{"encodeStat", EncodeStat}, {"encodeStatx", EncodeStatx}}); }

}  // namespace mirrord
