"""Repositories that point Bazel at the project's virtualenv; nothing is fetched.

The venv (`make setup`) already holds every third-party package, so rather
than download wheels, Bazel runs every py_binary and py_test on the venv's
interpreter:

* `venv_python_toolchain` writes a py_runtime on that interpreter and a
  Python toolchain for it (registered with --extra_toolchains in .bazelrc);
* `venv_pypi_hub` writes one empty py_library per distribution, so that
  "@pypi//<name>" deps resolve; it fails if the venv lacks a distribution.

The interpreter is $LEARNED_RULE_PYTHON (an absolute path; bazel.mk passes
it with --repo_env) or else the workspace's .venv/bin/python. It is used by
path and never resolved: Python finds the venv from the path it was started
by.
"""

_PYTHON_ENV = "LEARNED_RULE_PYTHON"

def _venv_python(repository_ctx):
    python = repository_ctx.os.environ.get(_PYTHON_ENV, "")
    if not python:
        workspace = repository_ctx.path(Label("//:WORKSPACE")).dirname
        python = "%s/.venv/bin/python" % workspace
    if not python.startswith("/"):
        fail("%s must be an absolute path, not %r." % (_PYTHON_ENV, python))
    if not repository_ctx.path(python).exists:
        fail(("No Python interpreter at %s: create the venv with `make " +
              "setup`, or set %s.") % (python, _PYTHON_ENV))
    return python

_TOOLCHAIN_BUILD = """\
# Written by venv_python_toolchain (third_party/bazel/venv.bzl).

load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

py_runtime(
    name = "python3",
    interpreter_path = "{python}",
    python_version = "PY3",
    # The launcher each py_binary starts with runs on the same interpreter.
    stub_shebang = "#!{python}",
)

py_runtime_pair(
    name = "runtime_pair",
    py3_runtime = ":python3",
)

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
"""

def _venv_python_toolchain_impl(repository_ctx):
    python = _venv_python(repository_ctx)
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    repository_ctx.file("BUILD", _TOOLCHAIN_BUILD.format(python = python))

venv_python_toolchain = repository_rule(
    implementation = _venv_python_toolchain_impl,
    environ = [_PYTHON_ENV],
    local = True,
    doc = "A Python toolchain on the venv's interpreter.",
)

_DISTRIBUTION_BUILD = """\
# Written by venv_pypi_hub (third_party/bazel/venv.bzl). {name} {version} is
# installed in the venv whose interpreter runs every py_binary and py_test;
# this target only records the dependency.

py_library(
    name = "{name}",
    visibility = ["//visibility:public"],
)
"""

# Prints "<name> <version>" per distribution named on the command line, or
# "<name> -" where the venv lacks it.
_VERSIONS = """
import importlib.metadata
import sys
for name in sys.argv[1:]:
    try:
        print(name, importlib.metadata.version(name))
    except importlib.metadata.PackageNotFoundError:
        print(name, '-')
"""

def _venv_pypi_hub_impl(repository_ctx):
    python = _venv_python(repository_ctx)
    names = repository_ctx.attr.distributions
    result = repository_ctx.execute([python, "-c", _VERSIONS] + names)
    if result.return_code != 0:
        fail("%s could not list its distributions:\n%s" % (python, result.stderr))
    versions = {}
    for line in result.stdout.splitlines():
        name, version = line.split(" ")
        versions[name] = version
    missing = [name for name in names if versions.get(name, "-") == "-"]
    if missing:
        fail("The venv of %s lacks %s: run `make setup`." %
             (python, ", ".join(missing)))
    repository_ctx.file("WORKSPACE", "workspace(name = %r)\n" % repository_ctx.name)
    repository_ctx.file("BUILD", "")
    for name in names:
        repository_ctx.file(
            name + "/BUILD",
            _DISTRIBUTION_BUILD.format(name = name, version = versions[name]),
        )

venv_pypi_hub = repository_rule(
    implementation = _venv_pypi_hub_impl,
    attrs = {
        "distributions": attr.string_list(
            mandatory = True,
            doc = "Distribution names, lowercase with underscores " +
                  "(absl_py), as in the @pypi//<name> labels.",
        ),
    },
    environ = [_PYTHON_ENV],
    local = True,
    doc = "Empty @pypi//<name> targets for the distributions of the venv.",
)
