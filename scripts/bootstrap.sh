#!/usr/bin/env bash
# Sets up everything licex needs on a fresh Debian machine, idempotently.
#   scripts/bootstrap.sh runtime   -> system fonts + .venv with the package
#   scripts/bootstrap.sh dev       -> also Chromium, poppler-utils, NSS tools and the dev/test extras
set -euo pipefail
mode="${1:-runtime}"
cd "$(dirname "$0")/.."

need_apt=()
want() { dpkg -s "$1" >/dev/null 2>&1 || need_apt+=("$1"); }
want fonts-hanazono            # HanaMin: CJK Extension A/B fallback glyphs for proofs (𠇔, 䶮)
if [ "$mode" = dev ]; then
  want chromium                # real browser for the e2e tests (driven by Playwright, never downloaded)
  want poppler-utils           # pdfsig / pdftotext / pdftoppm / pdffonts used by proof tests
  want libnss3-tools           # certutil: put the city root in an NSS db so pdfsig can say "Trusted"
  want haproxy                 # the replica test balances two `licex serve` processes (tests/deploy)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "installing Debian packages: ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
extras=""; [ "$mode" = dev ] && extras="[dev]"
stamp=".venv/.licex-installed-$mode-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -e ".${extras}" >&2
  touch "$stamp"
fi
