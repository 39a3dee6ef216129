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
    # CPython's own test suites (tests/stdlib_suite): Debian ships them apart.
    python3 -c 'import test.support' 2>/dev/null ||
        missing+=("libpython$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')-testsuite")
    # Servers the integration tests (tests/integration) start on loopback.
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v initdb >/dev/null || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
        missing+=(postgresql)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pip and the build print pages of notices (setuptools' editable-install
# banner, this machine's missing find-links folders) that say nothing about
# geventc: keep them in a log, shown only when the step fails.
quiet() {
    local log
    log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        cat "$log" >&2
        rm -f "$log"
        return 1
    fi
}

if [ ! -x .venv/bin/python ]; then
    echo "dev.sh: creating .venv"
    python3 -m venv .venv
    quiet .venv/bin/python -m pip -q install --upgrade pip 'setuptools>=77' wheel Cython greenlet
fi

# The editable install is redone only when the build's own inputs change
# (or the test extras are wanted for the first time). Otherwise only the
# compiled modules whose sources changed are rebuilt: pip's editable build
# compiles in a fresh temporary folder and so recompiled everything each time.
extras=""
[ "$mode" = test ] && extras="[test]"
inputs="$(cat pyproject.toml setup.py | sha1sum | cut -d' ' -f1)"
stamp=".venv/.geventc-installed${extras:+-test}"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
    echo "dev.sh: rebuilding the compiled modules whose sources changed (if any)"
    quiet .venv/bin/python setup.py -q build_ext --inplace -j 2
else
    echo "dev.sh: installing geventc${extras} into .venv (compiles every module, about 90 s)"
    quiet .venv/bin/python -m pip -q install --no-build-isolation -e ".${extras}"
    echo "$inputs" > "$stamp"
    [ -z "$extras" ] || echo "$inputs" > .venv/.geventc-installed
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
