#!/usr/bin/env bash
# Installs and starts what the test suite needs on a Debian machine that has only the Rust
# toolchain, and exports where the tests find it. Sourced by scripts/test.sh; every step is
# skipped when what it provides is already there, and any step that cannot be done stops the
# suite with the reason (nothing is skipped silently).
#
#   PostgreSQL   Debian's postgresql, a cluster on 127.0.0.1:5432 with trust authentication
#                (or the server MONO_TEST_DATABASE_URL names)
#   Node.js      Debian's nodejs and npm (18 or later), then the interop and browser tests' npm
#                packages
#   Chromium     Debian's chromium, which the desktop's browser tests drive headless
#   Python       Debian's python3 and python3-venv, for the chart checks' kubernetes-validate
#   cargo-fuzz   from crates.io, for the bounded fuzz runs
#   helm, kubernetes-validate   installed by charts/lint.sh into ~/.cache/mono-tools

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        as_root apt-get update -qq
        apt_updated=yes
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL: the server the URL names, or a local cluster on 127.0.0.1:5432.
if [ -z "${MONO_TEST_DATABASE_URL:-}" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
            echo "installing PostgreSQL" >&2
            apt_install postgresql
            cluster_conf=$(ls -d /etc/postgresql/*/main | head -n 1)
            printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
                | as_root tee "$cluster_conf/pg_hba.conf" >/dev/null
        fi
        version=$(ls /etc/postgresql | head -n 1)
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
    export MONO_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
fi

# Node.js 18 or later with npm, for the interop tests and the helm download.
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
if [ -z "$node_major" ] || [ "$node_major" -lt 18 ] || ! command -v npm >/dev/null; then
    echo "installing Node.js and npm" >&2
    apt_install nodejs npm
fi
npm ci --prefix instance/tests/interop --no-audit --no-fund --loglevel=error
npm ci --prefix instance/tests/browser --no-audit --no-fund --loglevel=error

# Chromium for the desktop's browser tests (driven through playwright-core, never downloaded by it).
if [ ! -x /usr/bin/chromium ]; then
    echo "installing Chromium" >&2
    apt_install chromium
fi

# Python with venv, for kubernetes-validate.
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "installing python3 and python3-venv" >&2
    apt_install python3 python3-venv
fi

# cargo-fuzz; the stable toolchain runs it with RUSTC_BOOTSTRAP=1 (scripts/fuzz-smoke.sh).
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet
fi

# charts/lint.sh installs helm and kubernetes-validate when they are missing.
export MONO_INSTALL_TOOLS=1
