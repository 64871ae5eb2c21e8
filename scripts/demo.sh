#!/usr/bin/env bash
# The demo, from nothing: ./scripts/demo.sh [options of `chatserver demo`...]
#
# Installs the project into .venv when needed, then runs `chatserver demo`, which starts its own
# embedded Redis: nothing else has to be installed or running.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv
ensure_package base
exec "$VENV/bin/chatserver" demo "$@"
