#!/usr/bin/env bash
# The whole test suite: formatting, vet, Go tests with the race detector (real redis-server
# included), then the end-to-end suite that drives the real binary with the official
# socket.io-client packages, real nginx and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/e2e/node_modules/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test -race"
# The Node interop tests of the Redis adapter must run here, not skip for want of packages.
export IOHUB_REQUIRE_INTEROP=1
go test -race -count=1 -timeout 20m ./...
# The patched library modules under third_party (go.mod replaces them) carry tests of
# their patches; they are other modules, so ./... does not reach them. Only their packages
# with tests are named: some packages of a copied module are not built by iohub and lack
# go.sum entries.
patched=()
while read -r mod dir; do
  for pkgdir in $(find "$dir" -name '*_test.go' -exec dirname {} \; | sort -u); do
    patched+=("$mod${pkgdir#"$dir"}")
  done
done < <(go list -m -f '{{if .Replace}}{{.Path}} {{.Replace.Path}}{{end}}' all | awk '$2 ~ /^\.\/third_party\// {print $1, substr($2, 3)}')
if [ ${#patched[@]} -gt 0 ]; then
  go test -race -count=1 -timeout 10m "${patched[@]}"
fi

echo "== build"
mkdir -p bin
go build -o bin/iohub ./cmd/iohub

# The end-to-end suites: each drives the real binary (single node, cluster, browser).
export IOHUB_BIN="$PWD/bin/iohub"
for suite in e2e cluster browser; do
  if [ -f "test/$suite/package.json" ]; then
    echo "== test/$suite (node --test)"
    (cd "test/$suite" && npm test)
  fi
done
