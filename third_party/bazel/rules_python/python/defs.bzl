"""The rules_python macros the project's BUILD loads, forwarded to native.

Bazel 4.2 has the Python rules built in; BUILD loads them from
@rules_python//python:defs.bzl so that it also reads as a rules_python
BUILD file. Only the attributes Bazel 4.2's native rules know may be used.
"""

def py_binary(**kwargs):
    native.py_binary(**kwargs)

def py_library(**kwargs):
    native.py_library(**kwargs)

def py_runtime(**kwargs):
    native.py_runtime(**kwargs)

def py_test(**kwargs):
    native.py_test(**kwargs)
