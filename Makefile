# HC-ZTMM benchmarking warehouse. `make run` and `make test` are the two commands a
# newcomer needs; everything else is for day-to-day work.

GO       ?= go
TAGS     := duckdb_arrow
BIN      := bin/hcztmm
ADDR     ?= 127.0.0.1:8080
DB       ?= ./data/hcztmm.duckdb
# CGO is required: DuckDB is linked in as a static C++ library.
export CGO_ENABLED := 1

.PHONY: all build run test test-short bench bench-go soak fmt lint vet fuzz clean

all: build

build:
	$(GO) build -tags $(TAGS) -o $(BIN) ./cmd/hcztmm

## run: build, create the warehouse with demo data on first start, serve API and dashboards
run: build
	./$(BIN) serve --demo --addr $(ADDR) --db $(DB)

## test: the whole suite with the race detector (what CI runs)
test:
	$(GO) test -tags $(TAGS) -race -count=1 -timeout 20m ./...

## test-short: the quick tier for the edit-test loop
test-short:
	$(GO) test -tags $(TAGS) -short -count=1 ./...

## bench: the benchmark table (cmd/hcztmm-bench): each path against a ceiling measured in
## the same run, medians of 3, ratios, then ingest and release at 1k/10k/100k organisations
## with the fitted growth exponent; BENCHFLAGS passes e.g. -only ingest -scaling none -out bench.md
bench:
	$(GO) run -tags $(TAGS) ./cmd/hcztmm-bench -go $(GO) $(BENCHFLAGS)

## soak: the loopback soak (cmd/hcztmm TestSoak) for SOAKTIME: the real server under mixed
## submissions, reads, dashboards and releases, then a quiet tail of reads only (a quarter
## as long, at least 10 s); fails on any 5xx, lost submission, memory that grows outside
## DuckDB's buffers faster than the data, or memory that grows at all in the quiet tail.
## `make test` runs a 15 s round.
SOAKTIME ?= 5m
soak:
	$(GO) test -tags $(TAGS) -count=1 -run '^TestSoak$$' -v -timeout 90m ./cmd/hcztmm -args -soak $(SOAKTIME)

## bench-go: the Go benchmarks of every package
bench-go:
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchmem ./...

## fuzz: every fuzz target for FUZZTIME each (a duration or an execution count Nx; CI
## runs a short round) through cmd/hcztmm-fuzz, which reports every target's verdict; new
## crashers land in the package's testdata/fuzz and fail the next `make test` until fixed.
## Go 1.26's coordinator can fail a clean round with a bare "context deadline exceeded"
## at its deadline (golang/go#75804): the runner excuses only that, after a corpus replay.
FUZZTIME ?= 10s
# Minimising each new interesting input may take up to a minute by default, which ate
# whole short rounds (a few executions of the slower targets in 30 s); crashers are
# written out either way.
FUZZMINIMIZE ?= 1s
FUZZ_TARGETS := ./model:FuzzParseModel ./ingest:FuzzDecodeJSON ./ingest:FuzzDecodeNDJSON \
	./ingest:FuzzDecodeCSVWide ./ingest:FuzzDecodeCSVLong ./ingest:FuzzDecodeXLSX
fuzz:
	$(GO) run ./cmd/hcztmm-fuzz -go $(GO) -tags $(TAGS) -fuzztime $(FUZZTIME) -minimize $(FUZZMINIMIZE) $(FUZZ_TARGETS)

fmt:
	gofmt -w $$(git ls-files '*.go')

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet -tags $(TAGS) ./...

clean:
	rm -rf bin data
