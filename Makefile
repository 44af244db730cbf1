# auditpipe — build, test, demo, bench, lint, tidy.
# Modules are found, not listed: every directory with a go.mod (see go.work).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

MODULES := $(patsubst ./%/go.mod,%,$(shell find . -name go.mod -not -path './bin/*' -not -path './.git/*' | sort))
# Modules that hold Go packages; a module that is only a go.mod so far is skipped.
CODE_MODULES = $(foreach m,$(MODULES),$(if $(shell find $(m) -name '*.go' -print -quit),$(m)))

# binary name = main package directory. Built when the directory exists.
BINARIES := \
	auditpipe-ingest=services/ingest \
	auditpipe-shipper=services/shipper \
	auditpipe-admin=services/admin \
	auditpipectl=services/admin/cmd/auditpipectl \
	teleport-sim=tools/teleport-sim

GO ?= go
TEST_FLAGS ?= -race -count=1 -timeout 15m
# The test module drives real binaries (built without -race) as processes; instrumenting its
# harness only slows the embedded NATS it hosts, so it runs without -race to keep make test short.
NORACE_MODULES := test
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCH_RESULTS ?= bench/results.txt

.PHONY: all build test demo bench lint tidy redis-server help

all: build

help:
	@echo "make demo   run the pipeline on embedded defaults and show events flowing"
	@echo "make test   run every module's tests against real Redis and NATS"
	@echo "make build  build every binary into bin/"
	@echo "make bench  run the benchmarks and write $(BENCH_RESULTS)"
	@echo "make lint   gofmt, go vet and staticcheck on every module"
	@echo "make tidy   go mod tidy in every module, then go work sync"

build:
	@mkdir -p bin
	@for pair in $(BINARIES); do \
		name=$${pair%%=*}; dir=$${pair#*=}; \
		if ls $$dir/*.go >/dev/null 2>&1; then \
			echo "build bin/$$name"; \
			$(GO) build -o bin/$$name ./$$dir; \
		fi; \
	done

# redis-server is the one system package the tests need (pkg/testenv starts it on a free port).
redis-server:
	@scripts/ensure-redis-server.sh

test: redis-server
	@failed=""; \
	for m in $(CODE_MODULES); do \
		echo "=== module $$m"; \
		flags="$(TEST_FLAGS)"; \
		case " $(NORACE_MODULES) " in *" $$m "*) flags=$${flags//-race/};; esac; \
		(cd $$m && $(GO) test $$flags ./...) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED modules:$$failed"; exit 1; fi; \
	echo "all modules passed: $(CODE_MODULES)"

demo: redis-server
	@scripts/demo.sh

bench: redis-server
	@mkdir -p $(dir $(BENCH_RESULTS))
	@{ echo "# auditpipe benchmarks — $$(date -u +%Y-%m-%dT%H:%MZ), $$(nproc) cores, $$($(GO) env GOVERSION)"; \
	for m in $(CODE_MODULES); do \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...) | grep -E '^(Benchmark|pkg:|ok|FAIL)'; \
	done; } | tee $(BENCH_RESULTS)

lint:
	@out=$$(gofmt -l $(CODE_MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(CODE_MODULES); do \
		echo "=== lint $$m"; \
		(cd $$m && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...); \
	done

tidy:
	@for m in $(MODULES); do echo "tidy $$m"; (cd $$m && GOWORK=off $(GO) mod tidy); done
	@$(GO) work sync
