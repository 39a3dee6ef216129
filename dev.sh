#!/usr/bin/env bash
# Set up geventc on a fresh Debian/Ubuntu machine, then run the demo or the tests.
#
#   bash dev.sh demo    # set up, then run examples/demo.py
#   bash dev.sh test    # set up, then run the test suite (what CI runs)
#
# Set-up is idempotent: system packages only when missing, one .venv, an
# editable install that rebuilds the compiled modules when sources change.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-demo}"

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

missing=()
[ -f /usr/include/ev.h ] || [ -f /usr/include/libev/ev.h ] || missing+=(libev-dev)
[ -f /usr/include/ares.h ] || missing+=(libc-ares-dev)
command -v gcc >/dev/null || missing+=(gcc)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ "$mode" = test ]; then
    command -v valgrind >/dev/null || missing+=(valgrind)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip setuptools wheel
.venv/bin/python -m pip install -q Cython greenlet
if [ "$mode" = test ]; then
    .venv/bin/python -m pip install -q --no-build-isolation -e '.[test]'
else
    .venv/bin/python -m pip install -q --no-build-isolation -e .
fi

case "$mode" in
    demo)
        exec .venv/bin/python examples/demo.py
        ;;
    test)
        exec bash .ci/tests.sh
        ;;
    *)
        echo "usage: bash dev.sh [demo|test]" >&2
        exit 2
        ;;
esac
