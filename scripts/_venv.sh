# shellcheck shell=bash
# Shared by scripts/run and scripts/test (sourced, not executed).
#
# ensure_venv SPEC STAMP
#   Creates .venv with Python 3.11+ if it is missing or broken, then runs
#   `pip install -e SPEC` only when pyproject.toml changed since the last
#   successful install with that SPEC (the sha256 of pyproject.toml is kept
#   in .venv/STAMP), and compiles src/ to bytecode (see below). Expects the current directory
#   to be the repository root.
#   Errors are returned explicitly: callers may run it where `set -e` is off.

VENV=.venv

_python_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

# The interpreters tried for a new .venv, best first. PYTHON, when set, is the only one. Otherwise the
# operating system's own python3 comes first: distributions build it with profile-guided and link-time
# optimisation and link it statically, and Debian's 3.11 runs this project's code with ~16 % fewer
# instructions than a default source build such as pyenv's (D-VENV-PYTHON); then python3.x on PATH.
_candidates() {
    if [ -n "${PYTHON:-}" ]; then
        echo "$PYTHON"
        return 0
    fi
    printf '%s\n' /usr/bin/python3 python3 python3.13 python3.12 python3.11
}

# Creates .venv with the first candidate that is Python 3.11+ and can make one (a distribution's python3
# without its venv package cannot: the next candidate is tried).
_create_venv() {
    local candidate
    while read -r candidate; do
        if command -v "$candidate" >/dev/null 2>&1 && _python_ok "$candidate" \
            && "$candidate" -m venv --clear "$VENV" >/dev/null 2>&1; then
            echo "==> created $VENV with $candidate ($("$candidate" --version 2>&1))"
            return 0
        fi
    done < <(_candidates)
    echo "error: Python 3.11 or newer with its venv module is required (set PYTHON=/path/to/python3.11+)." >&2
    return 1
}

ensure_venv() {
    local spec=$1 stamp="$VENV/$2" want have
    if ! _python_ok "$VENV/bin/python"; then
        _create_venv || return 1   # --clear also drops stale stamps
    fi
    want=$("$VENV/bin/python" -c \
        'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' pyproject.toml) || return 1
    have=$(cat "$stamp" 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
        echo "==> installing $spec into $VENV (pyproject.toml changed or first install)"
        "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -e "$spec" || return 1
        echo "$want" >"$stamp"
    fi
    # Bytecode for the package's own modules: an editable install compiles none, and where
    # PYTHONDONTWRITEBYTECODE is set Python never writes any, so every `licensedesk` command would
    # compile ~120 modules again (≈0.25 s CPU of `licensedesk simulate`). Only stale files are rewritten.
    "$VENV/bin/python" -m compileall -q src >/dev/null || return 1
}
