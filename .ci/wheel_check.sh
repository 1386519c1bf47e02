#!/usr/bin/env bash
# The wheel as a user gets it: built from this checkout, installed (not
# editable) into a throwaway environment that reuses the dependencies
# installed in the checkout's virtualenv, then run from an empty directory:
# every console script's --help, two shipped rules loaded by name, and one
# tiny meta-training run evaluated by the paired evaluation.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
PYTHON="$PWD/$VENV/bin/python"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"

echo "wheel-check: building the wheel"
# From a copy of the tracked and untracked-but-not-ignored files, so that
# stale build/ output of the checkout cannot leak into it.
mkdir "$WORK/source"
git ls-files -z --cached --others --exclude-standard |
  xargs -0 cp --parents -t "$WORK/source" 2>/dev/null || true
"$PYTHON" -m pip wheel "$WORK/source" --no-deps --no-build-isolation \
  --no-index -w "$WORK/dist" -q

echo "wheel-check: installing it into a throwaway environment"
# The base interpreter of the checkout's virtualenv.
BASE_PYTHON="$("$PYTHON" -c 'import sys; print(sys._base_executable)')"
"$BASE_PYTHON" -m venv "$WORK/env"
PURELIB='import sysconfig; print(sysconfig.get_paths()["purelib"])'
# A path line (not a site directory): the checkout's editable install of
# learned_rule, which lives there too, stays inactive.
"$PYTHON" -c "$PURELIB" > "$("$WORK/env/bin/python" -c "$PURELIB")/checkout_dependencies.pth"
"$WORK/env/bin/python" -m pip install --no-deps --no-index -q \
  "$WORK"/dist/learned_rule-*.whl

mkdir "$WORK/empty"
cd "$WORK/empty"
"$WORK/env/bin/python" - <<'PY'
import learned_rule, sys
from learned_rule import rules
location = learned_rule.__file__
assert '/env/' in location, f'learned_rule imported from {location}'
for name in rules.available():
  rules.load(name)
print(f'wheel-check: shipped rules {", ".join(rules.available())} load '
      f'from {location.rsplit("/learned_rule/", 1)[0]}')
PY
SCRIPTS="$("$WORK/env/bin/python" -c 'from learned_rule import console_scripts as c; print(" ".join(c.PREFIX + n for n, _ in c.SCRIPTS))')"
for script in $SCRIPTS; do
  # absl's --help exits with status 1 after printing the flags.
  status=0
  "$WORK/env/bin/$script" --help > "$WORK/help.txt" 2>&1 || status=$?
  if [ "$status" -gt 1 ] || ! grep -q -- "--" "$WORK/help.txt"; then
    echo "wheel-check: $script --help failed (status $status):"
    cat "$WORK/help.txt"; exit 1
  fi
  echo "wheel-check: $script --help lists $(grep -c -- '^  --' "$WORK/help.txt") flags"
done
"$WORK/env/bin/learned-rule-meta-train" --root_dir=run \
  --gin_file=meta_train/tiny.gin --num_steps=2 --nobatch_tasks \
  --stderrthreshold=error
"$WORK/env/bin/learned-rule-paired-eval" --rule=run \
  --gin_file=held_out/tiny.gin --output_json=paired.json \
  --stderrthreshold=error
test -s paired.json
echo "wheel-check: passed"
