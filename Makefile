.PHONY: test build run bench

build:
	go build -o bin/iohub ./cmd/iohub

run: build
	./bin/iohub serve --dev

test:
	scripts/test.sh

bench:
	scripts/bench.sh
