# Bazel build and tests of BUILD, offline (`make bazel-test`). Included by the
# Makefile after its setup rule (then the venv is installed first); also runs
# alone as `make -f bazel.mk bazel-test` once the venv exists.
#
# Debian's bazel-bootstrap (Bazel 4.2) runs every target on the venv's
# interpreter; WORKSPACE and third_party/bazel/ replace everything Bazel
# would download. `make bazel-test` builds every target and runs the tests
# tagged "core" (BAZEL_TEST_TAGS= runs them all, several of which need the
# offline data; they see it with BAZEL_FLAGS=--test_env=HOME).

VENV ?= .venv
BAZEL ?= bazel
BAZEL_DEB := bazel-bootstrap
# Bazel's output tree and cache, outside the checkout.
BAZEL_OUTPUT_USER_ROOT ?= $(HOME)/.cache/learned_rule/bazel
# Only tests with one of these tags run (comma-separated; empty: all tests).
BAZEL_TEST_TAGS ?= core
# Extra options of `bazel test`; e.g. on a busy machine:
# BAZEL_FLAGS='--jobs=1 --local_cpu_resources=1'.
BAZEL_FLAGS ?=

BAZEL_COMMAND = $(BAZEL) --output_user_root=$(BAZEL_OUTPUT_USER_ROOT)
# WORKSPACE finds .venv itself; another venv is passed by absolute path.
BAZEL_VENV_FLAGS = $(if $(filter-out .venv ./.venv,$(VENV)),\
    --repo_env=LEARNED_RULE_PYTHON=$(abspath $(VENV))/bin/python)

.PHONY: bazel-install bazel-test bazel-clean

# Installs bazel-bootstrap with apt-get where bazel is missing and we are
# root; `apt-get update` runs first only if apt does not know the package.
bazel-install:
	@if command -v $(BAZEL) >/dev/null 2>&1; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-cache show $(BAZEL_DEB) >/dev/null 2>&1 || apt-get update; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y $(BAZEL_DEB) && \
	    exit 0; \
	  echo "bazel-install: could not install $(BAZEL_DEB)."; \
	fi; \
	echo "bazel-install: $(BAZEL) is missing (needs apt-get and root:" \
	  "apt-get install -y $(BAZEL_DEB))."; \
	exit 1

# `bazel test //...` builds every target, binaries included, and runs the
# selected tests. $(STAMP) is the Makefile's venv; empty when run alone.
bazel-test: bazel-install $(STAMP)
	$(BAZEL_COMMAND) test $(BAZEL_VENV_FLAGS) \
	    --test_tag_filters=$(BAZEL_TEST_TAGS) $(BAZEL_FLAGS) //...

# Removes Bazel's output tree of this checkout and stops its server.
bazel-clean:
	@if command -v $(BAZEL) >/dev/null 2>&1; then \
	  $(BAZEL_COMMAND) clean --expunge; fi
