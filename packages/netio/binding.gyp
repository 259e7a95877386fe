{
  "targets": [
    {
      "target_name": "netio",
      "sources": ["native/addon.cc", "native/errors.cc", "native/tun.cc", "native/udp.cc", "native/poll.cc", "native/gso.cc", "native/gro.cc", "native/inner-checksum.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fstack-protector-strong", "-fvisibility=hidden"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
