#!/usr/bin/env bash
# Regenerate docs/screenshots/ (embedded in README.md): ./scripts/screenshots.sh
# Installs what it needs: .venv with the test extra (Playwright), Debian's chromium, and the
# Noto CJK fonts (headless chromium has no Chinese glyphs without them).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
ensure_package test
ensure_chromium
ensure_cjk_fonts
"$VENV/bin/python" scripts/screenshots.py
