#!/usr/bin/env bash
# `make test`: every test and check, each reported, all run even when one fails.
#
# Run it through `python scripts/services.py exec -- bash scripts/test.sh` (the Makefile does)
# so that without DATABASE_URL the embedded PostgreSQL is started and stopped around it.
#
# Environment:
#   COV_MIN       minimum coverage of apps/ in percent (default 95)
#   PYTEST_ARGS   extra pytest arguments, e.g. "-n auto" or "-k hotkeys"
#   PYTEST_TIMEOUT  seconds before a hung test run is interrupted (default 1800)
#   VENV          the virtualenv holding the tools (default .venv)
set -uo pipefail

cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
COV_MIN="${COV_MIN:-95}"
PYTEST_ARGS="${PYTEST_ARGS:-}"
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-1800}"
# The management commands below run with the development settings, as `make schema` does, so
# that the committed OpenAPI files and the drift check come from identical settings.
COMMAND_SETTINGS="config.settings.dev"

declare -a RESULTS=()
FAILED=0

# run_check NAME CMD...: run one check, print a banner, remember its outcome and duration.
run_check() {
    local name="$1"
    shift
    local started status tenths elapsed
    printf '\n\033[1m==> %s\033[0m\n' "$name"
    started=$(date +%s%N)
    "$@"
    status=$?
    tenths=$((($(date +%s%N) - started) / 100000000))
    elapsed="$((tenths / 10)).$((tenths % 10))"
    if [ "$status" -eq 0 ]; then
        RESULTS+=("PASS  $name (${elapsed} s)")
    else
        RESULTS+=("FAIL  $name (exit $status, ${elapsed} s)")
        FAILED=1
    fi
}

manage() {
    DJANGO_SETTINGS_MODULE="$COMMAND_SETTINGS" "$PY" manage.py "$@"
}

compilemessages() {
    "$PY" scripts/services.py compilemessages
}

run_pytest() {
    # Exit code 5 ("no tests collected") is a failure like any other non-zero code. A hung
    # test gets SIGINT after PYTEST_TIMEOUT seconds, so pytest prints where it was stuck, and
    # the run fails (124) instead of blocking CI forever.
    # shellcheck disable=SC2086  # PYTEST_ARGS is a list of words on purpose
    timeout --foreground --signal=INT --kill-after=30 "$PYTEST_TIMEOUT" "$PY" -m pytest \
        --cov=apps \
        --cov-report=term-missing:skip-covered \
        --cov-fail-under="$COV_MIN" \
        $PYTEST_ARGS
}

makemigrations_check() {
    manage makemigrations --check --dry-run
}

# schema_drift: regenerate both OpenAPI files into a temporary directory and compare them with
# the committed ones.
schema_drift() {
    local tmp status=0 committed urlconf generated
    tmp=$(mktemp -d)
    for pair in "schema.yml:config.urls_tenant" "schema-public.yml:config.urls_public"; do
        committed="${pair%%:*}"
        urlconf="${pair#*:}"
        generated="$tmp/$committed"
        if ! manage spectacular --urlconf "$urlconf" --file "$generated" --validate; then
            echo "could not generate $committed from $urlconf" >&2
            status=1
            continue
        fi
        if [ ! -f "$committed" ]; then
            echo "OpenAPI drift: $committed is not committed; run \`make schema\` and commit it." >&2
            status=1
        elif ! diff -u "$committed" "$generated"; then
            echo "OpenAPI drift: $committed differs from what $urlconf generates;" \
                "run \`make schema\` and commit the result." >&2
            status=1
        else
            echo "$committed is up to date"
        fi
    done
    rm -rf "$tmp"
    return "$status"
}

# Everything runs from main, parsed in full before it starts: bash reads a script as it goes,
# so editing or checking out this file during a run would otherwise break the run.
main() {
    run_check "compilemessages" compilemessages
    run_check "pytest (coverage >= ${COV_MIN}%)" run_pytest
    run_check "ruff check" "$VENV/bin/ruff" check .
    run_check "ruff format --check" "$VENV/bin/ruff" format --check .
    run_check "mypy" "$VENV/bin/mypy" .
    run_check "makemigrations --check" makemigrations_check
    run_check "OpenAPI drift (schema.yml, schema-public.yml)" schema_drift

    printf '\n\033[1m==> summary\033[0m\n'
    printf '  %s\n' "${RESULTS[@]}"
    if [ "$FAILED" -ne 0 ]; then
        echo "make test: FAILED"
        exit 1
    fi
    echo "make test: all checks passed"
}

main "$@"
exit
