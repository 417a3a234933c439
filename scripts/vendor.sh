#!/usr/bin/env bash
# Refresh the vendored front-end files from the npm registry. The version is part of each
# file name; after bumping a version here, update the templates that name the file.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/townsquare/web/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # package version file-in-package destination-name
    local package=$1 version=$2 inner=$3 target=$4
    (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    local tarball
    tarball=$(ls "$work"/*.tgz | head -n 1)
    tar xzf "$tarball" -C "$work"
    cp "$work/package/$inner" "$dest/$target"
    rm -rf "$work/package" "$tarball"
    echo "vendored $package@$version -> $dest/$target"
}

fetch htmx.org 2.0.4 dist/htmx.min.js htmx-2.0.4.min.js
fetch @picocss/pico 2.1.1 css/pico.min.css pico-2.1.1.min.css
fetch swagger-ui-dist 5.35.0 swagger-ui-bundle.js swagger-ui-bundle-5.35.0.js
fetch swagger-ui-dist 5.35.0 swagger-ui.css swagger-ui-5.35.0.css
# Measure's charts: Vega-Lite specs built by Altair (6.x targets vega-lite 6), drawn by vega-embed.
fetch vega 6.2.0 build/vega.min.js vega-6.2.0.min.js
fetch vega-lite 6.4.1 build/vega-lite.min.js vega-lite-6.4.1.min.js
fetch vega-embed 7.1.0 build/vega-embed.min.js vega-embed-7.1.0.min.js
