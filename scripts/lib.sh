# shellcheck shell=bash
# Shared by scripts/test.sh and scripts/demo.sh (sourced, not run): install what the project
# needs, from nothing, on a fresh Debian machine with Python >= 3.11. Every function is
# idempotent and returns in milliseconds when there is nothing to do, so the scripts can call
# them on every run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# What the last `pip install` of the project was made from; a different line means reinstall.
INSTALL_STAMP="$VENV/.chatserver-install"
NPM_STAMP="$ROOT/node_modules/.chatserver-install"
# Python snippets: exit 0 on a Python new enough; print major.minor.
_PY_OK='import sys; sys.exit(sys.version_info < (3, 11))'
_PY_VERSION='import sys; print("%d.%d" % sys.version_info[:2])'

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# ensure_venv: .venv with a working Python >= 3.11 and pip; (re)created when missing or broken.
ensure_venv() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$_PY_OK; import pip" 2>/dev/null; then
    return 0
  fi
  local python
  python="$(_find_python)" || die "Python >= 3.11 is needed (set PYTHON=/path/to/python3.11)"
  [ -e "$VENV" ] && say "removing the unusable $VENV"
  rm -rf "$VENV"
  say "creating $VENV with $python ($("$python" --version 2>&1))"
  if ! "$python" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian ships venv's pip bootstrap (ensurepip) in a separate package.
    rm -rf "$VENV"
    apt_install "python$("$python" -c "$_PY_VERSION")-venv"
    "$python" -m venv "$VENV" || die "could not create $VENV with $python"
  fi
}

_find_python() {
  local candidate
  for candidate in ${PYTHON:+"$PYTHON"} python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "$_PY_OK" 2>/dev/null; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# ensure_package base|test: the project installed (editable) in .venv, with the test extra for
# `test`; pip runs only when pyproject.toml (or the checkout's place) changed since the last time.
ensure_package() {
  local want="$1" spec="." fingerprint
  [ "$want" = test ] && spec=".[test]"
  fingerprint="v1 $(_hash_files "$ROOT/pyproject.toml") $ROOT"
  if [ -f "$INSTALL_STAMP" ]; then
    local stamp
    stamp="$(cat "$INSTALL_STAMP")"
    # A test install includes everything a base install has.
    [ "$stamp" = "$fingerprint test" ] && return 0
    [ "$want" = base ] && [ "$stamp" = "$fingerprint base" ] && return 0
  fi
  say "installing the project into .venv: pip install -e '$spec' (a minute the first time)"
  rm -f "$INSTALL_STAMP"
  (cd "$ROOT" && _pip install --quiet -e "$spec") || die "pip install -e '$spec' failed"
  printf '%s %s\n' "$fingerprint" "$want" >"$INSTALL_STAMP"
}

# ensure_pip_tool COMMAND PACKAGE: COMMAND in .venv/bin (or on PATH), else pip-install PACKAGE.
ensure_pip_tool() {
  local command="$1" package="$2"
  [ -x "$VENV/bin/$command" ] && return 0
  command -v "$command" >/dev/null 2>&1 && return 0
  say "installing $package into .venv (for $command)"
  _pip install --quiet "$package" || die "pip install $package failed"
}

# _pip ARGS...: pip of .venv. Some machines' pip configuration names local package folders
# that do not exist; pip's warning about each of them, for each package, is only noise.
_pip() {
  "$VENV/bin/python" -m pip --disable-pip-version-check "$@" 2>&1 |
    { grep -v "^WARNING: Location 'file:.*' is ignored" || true; }
  return "${PIPESTATUS[0]}"
}

# ensure_chromium: Debian's chromium at /usr/bin/chromium (the browser tests drive it).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium
}

# ensure_cluster_tools: Debian's redis-server >= 7 (with redis-cli and Sentinel) and haproxy,
# for tests/integration/cluster (a Redis Cluster, Sentinel failover, servers behind HAProxy).
ensure_cluster_tools() {
  local missing=()
  if ! /usr/bin/redis-server --version 2>/dev/null | grep -Eq 'v=([7-9]|[1-9][0-9])\.'; then
    missing+=(redis-server redis-tools)
  fi
  [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
  [ "${#missing[@]}" -eq 0 ] && return 0
  apt_install "${missing[@]}"
}

# ensure_cjk_fonts: Chinese glyphs for headless chromium (screenshots, Chinese names).
ensure_cjk_fonts() {
  [ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 && return 0
  apt_install fonts-noto-cjk
}

# ensure_node_modules: node_modules as package.json (and its lock file) describe; npm ci when
# there is a lock file, npm install otherwise; nothing when they have not changed.
ensure_node_modules() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  local fingerprint
  fingerprint="v1 $(_hash_files "$ROOT/package.json" "$ROOT/package-lock.json")"
  [ -f "$NPM_STAMP" ] && [ "$(cat "$NPM_STAMP")" = "$fingerprint" ] && return 0
  if [ -f "$ROOT/package-lock.json" ]; then
    say "installing node_modules: npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund) || die "npm ci failed"
  else
    say "installing node_modules: npm install"
    (cd "$ROOT" && npm install --no-audit --no-fund) || die "npm install failed"
  fi
  mkdir -p "$ROOT/node_modules" # npm makes none for a package.json without dependencies
  # npm install may have written the lock file: fingerprint what is there now.
  printf 'v1 %s\n' "$(_hash_files "$ROOT/package.json" "$ROOT/package-lock.json")" >"$NPM_STAMP"
}

# _hash_files FILE...: one sha256 of those of the files that exist.
_hash_files() {
  local file
  for file in "$@"; do
    if [ -f "$file" ]; then cat "$file"; fi
  done | sha256sum | cut -d' ' -f1
}

# apt_install PACKAGE...: Debian packages, as root or through sudo; else say the exact command.
apt_install() {
  local sudo=()
  if ! command -v apt-get >/dev/null 2>&1; then
    die "$* missing and this is not Debian: install them with your package manager"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      die "$* missing; as root run: apt-get update && apt-get install -y $*"
    sudo=(sudo)
  fi
  say "installing Debian packages: $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" ||
    die "apt-get install -y $* failed"
}
