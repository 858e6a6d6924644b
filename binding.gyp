{
  "targets": [
    {
      "target_name": "sidecar_native",
      "sources": [
        "sidecar/native/sidecar_native.cc",
        "sidecar/native/watchdog.cc",
        "sidecar/native/capture.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra"
      ]
    },
    {
      "target_name": "mirrord_cli_native",
      "sources": [
        "cli/native/netns_connect.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra"
      ]
    },
    {
      "target_name": "mirrord_layer",
      "type": "shared_library",
      "product_extension": "so",
      "sources": [
        "layer/native/channel.c",
        "layer/native/address.c",
        "layer/native/fdtable.c",
        "layer/native/sockets.c",
        "layer/native/dns.c",
        "layer/native/paths.c",
        "layer/native/cwd.c",
        "layer/native/files.c",
        "layer/native/stat.c",
        "layer/native/file_changes.c",
        "layer/native/libuv.c",
        "layer/native/exec.c",
        "layer/native/hostname.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-fvisibility=default",
        "-fPIC"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "ldflags": [
        "-ldl",
        "-lpthread",
        "-Wl,--version-script=<(module_root_dir)/layer/native/exports.map"
      ],
      "defines!": [
        "_FILE_OFFSET_BITS=64",
        "_LARGEFILE_SOURCE"
      ]
    },
    {
      "target_name": "mirrord_syscall",
      "sources": [
        "layer/syscall/supervisor.cc",
        "layer/syscall/sockets.cc",
        "layer/syscall/stat.cc",
        "layer/syscall/waits.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra"
      ]
    },
    {
      "target_name": "mirrord_syscall_launcher",
      "type": "executable",
      "sources": [
        "layer/syscall/launcher.c"
      ],
      "cflags": [
        "-std=gnu11",
        "-Wall",
        "-Wextra"
      ]
    }
  ]
}
