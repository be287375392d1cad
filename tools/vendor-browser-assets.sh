#!/usr/bin/env bash
# Refresh the browser builds vendored into the repo, from npm, at exact versions:
#   web/static/vendor/     GraphiQL + React, jsQR (served by the service at /static/vendor/...)
#   tests/browser/vendor/  graphql-ws and Apollo Client, for the browser test page
# and record each file's version and sha256 in VERSIONS.txt next to them.
# Needs node and npm (registry access); nothing is fetched at run time by the service.
# Usage: tools/vendor-browser-assets.sh   (then review `git diff --stat` and commit)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

GRAPHIQL=3.9.0       # the last major with a UMD build usable without a bundler (4.x/5.x: ESM)
REACT=18.3.1         # React 19 ships no UMD builds
GRAPHQL_WS=5.16.2    # 6.x ships no UMD build
APOLLO_CLIENT=3.14.1 # bundled here into one IIFE with esbuild (it ships ESM/CJS only)
GRAPHQL=16.11.0
ESBUILD=0.25.5
JSQR=1.4.0           # the /verify page's QR decoder where the browser has no BarcodeDetector

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund --save-exact \
  "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" "graphql-ws@$GRAPHQL_WS" \
  "@apollo/client@$APOLLO_CLIENT" "graphql@$GRAPHQL" "esbuild@$ESBUILD" "jsqr@$JSQR"
nm="$work/node_modules"

# Apollo Client as one browser script: window.Apollo = {ApolloClient, InMemoryCache, ...}.
cat >apollo-entry.mjs <<'EOF'
export { ApolloClient, InMemoryCache, HttpLink, split, gql, ApolloLink } from "@apollo/client/core";
export { GraphQLWsLink } from "@apollo/client/link/subscriptions";
export { getMainDefinition } from "@apollo/client/utilities";
export { createClient } from "graphql-ws";
EOF
"$nm/.bin/esbuild" apollo-entry.mjs --bundle --minify --format=iife --global-name=Apollo \
  --define:process.env.NODE_ENV='"production"' --define:globalThis.__DEV__=false \
  --target=es2020 --legal-comments=none --outfile=apollo-client.min.js --log-level=warning

static="$ROOT/web/static/vendor"
tests="$ROOT/tests/browser/vendor"
rm -rf "$static" "$tests"
copy() { # package version source destination versions-file [note]
  mkdir -p "$(dirname "$4")"
  cp "$3" "$4"
  printf '%s %s %s %s%s\n' "$1" "$2" "$(sha256sum "$4" | cut -d' ' -f1)" "${4#"$ROOT"/}" \
    "${6:+  # $6}" >>"$5"
}
header() {
  printf '# package version sha256 file (written by tools/vendor-browser-assets.sh)\n' >"$1"
}

mkdir -p "$static" "$tests"
header "$static/VERSIONS.txt"
copy graphiql "$GRAPHIQL" "$nm/graphiql/dist/index.umd.js" \
  "$static/graphiql-$GRAPHIQL/graphiql.min.js" "$static/VERSIONS.txt"
copy graphiql "$GRAPHIQL" "$nm/graphiql/dist/style.css" \
  "$static/graphiql-$GRAPHIQL/graphiql.min.css" "$static/VERSIONS.txt"
copy react "$REACT" "$nm/react/umd/react.production.min.js" \
  "$static/react-$REACT/react.production.min.js" "$static/VERSIONS.txt"
copy react-dom "$REACT" "$nm/react-dom/umd/react-dom.production.min.js" \
  "$static/react-dom-$REACT/react-dom.production.min.js" "$static/VERSIONS.txt"
copy graphql-ws "$GRAPHQL_WS" "$nm/graphql-ws/umd/graphql-ws.min.js" \
  "$static/graphql-ws-$GRAPHQL_WS/graphql-ws.min.js" "$static/VERSIONS.txt"
copy jsqr "$JSQR" "$nm/jsqr/dist/jsQR.js" "$static/jsqr-$JSQR/jsQR.js" "$static/VERSIONS.txt"
copy jsqr "$JSQR" "$nm/jsqr/LICENSE" "$static/jsqr-$JSQR/LICENSE" "$static/VERSIONS.txt" \
  "Apache-2.0, served with the file"

header "$tests/VERSIONS.txt"
copy graphql-ws "$GRAPHQL_WS" "$nm/graphql-ws/umd/graphql-ws.min.js" \
  "$tests/graphql-ws-$GRAPHQL_WS/graphql-ws.min.js" "$tests/VERSIONS.txt"
copy @apollo/client "$APOLLO_CLIENT" "$work/apollo-client.min.js" \
  "$tests/apollo-client-$APOLLO_CLIENT/apollo-client.min.js" "$tests/VERSIONS.txt" \
  "one IIFE with graphql $GRAPHQL and graphql-ws $GRAPHQL_WS, built by esbuild $ESBUILD"

cat "$static/VERSIONS.txt" "$tests/VERSIONS.txt"
