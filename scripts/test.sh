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
go test -race -count=1 -timeout 20m ./...

echo "== build"
mkdir -p bin
go build -o bin/iohub ./cmd/iohub

if [ -f test/e2e/package.json ]; then
  echo "== e2e (node --test)"
  (cd test/e2e && IOHUB_BIN="$PWD/../../bin/iohub" npm test)
fi
