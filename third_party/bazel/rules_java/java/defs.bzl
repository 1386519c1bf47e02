"""The rules_java macros that @bazel_tools loads, forwarded to native rules.

Bazel 4.2 has these rules built in; @bazel_tools only loads them from
@rules_java, which would otherwise be downloaded. Nothing of this project
builds Java: they are loaded, never built.
"""

def java_binary(**kwargs):
    native.java_binary(**kwargs)

def java_import(**kwargs):
    native.java_import(**kwargs)

def java_library(**kwargs):
    native.java_library(**kwargs)

def java_proto_library(**kwargs):
    native.java_proto_library(**kwargs)

def java_runtime(**kwargs):
    native.java_runtime(**kwargs)

def java_toolchain(**kwargs):
    native.java_toolchain(**kwargs)
