# auditpipe — build, test, demo, bench, lint, tidy, images, helm-lint.
# Modules are found, not listed: every directory with a go.mod (see go.work). A module that
# go.work does not use (deploy: Helm's Kubernetes dependencies must stay out of the
# workspace's one build list) is built, tested and linted on its own, with GOWORK=off.
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
# The modules go.work uses, from its `use` entries ("./pkg" -> pkg); the others (deploy) run
# with GOWORK=off: inside the workspace, go refuses a module it does not list.
WORK_MODULES := $(patsubst ./%,%,$(shell $(GO) work edit -json 2>/dev/null | sed -n 's/^.*"DiskPath": *"\([^"]*\)".*$$/\1/p'))
OUTSIDE_WORK = $(filter-out $(WORK_MODULES),$(MODULES))
TEST_FLAGS ?= -race -count=1 -timeout 15m
# The test module drives real binaries (built without -race) as processes; instrumenting its
# harness only slows the embedded NATS it hosts, so it runs without -race to keep make test short.
# deploy renders files: it has no concurrency to race-check, and -race would rebuild Helm and
# the Kubernetes API packages instrumented, for minutes.
NORACE_MODULES := test deploy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCH_RESULTS ?= bench/results.txt

# make images: one image per Dockerfile, <IMAGE_REGISTRY>/<name>:<IMAGE_TAG> (deploy/compose and
# deploy/helm use these names), built from the repository root. Needs a Docker engine.
IMAGE_REGISTRY ?= auditpipe
IMAGE_TAG ?= dev
IMAGES := \
	auditpipe-ingest=services/ingest/Dockerfile \
	auditpipe-shipper=services/shipper/Dockerfile \
	auditpipe-admin=services/admin/Dockerfile \
	teleport-sim=tools/teleport-sim/Dockerfile

.PHONY: all build test demo bench lint tidy images helm-lint redis-server help

all: build

help:
	@echo "make demo   run the pipeline on embedded defaults and show events flowing"
	@echo "make test   run every module's tests against real Redis and NATS"
	@echo "make build  build every binary into bin/"
	@echo "make bench  run the benchmarks and write $(BENCH_RESULTS)"
	@echo "make lint   gofmt, go vet and staticcheck on every module"
	@echo "make tidy   go mod tidy in every module, then go work sync"
	@echo "make images       docker build every service image (needs Docker)"
	@echo "make helm-lint    lint and render the Helm chart, validate what it renders (deploy module)"

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
		gowork=""; case " $(OUTSIDE_WORK) " in *" $$m "*) gowork="GOWORK=off";; esac; \
		(cd $$m && env $$gowork $(GO) test $$flags ./...) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED modules:$$failed"; exit 1; fi; \
	echo "all modules passed: $(CODE_MODULES)"

demo: redis-server
	@scripts/demo.sh

bench: redis-server
	@mkdir -p $(dir $(BENCH_RESULTS))
	@{ echo "# auditpipe benchmarks — $$(date -u +%Y-%m-%dT%H:%MZ), $$(nproc) cores, $$($(GO) env GOVERSION)"; \
	for m in $(CODE_MODULES); do \
		gowork=""; case " $(OUTSIDE_WORK) " in *" $$m "*) gowork="GOWORK=off";; esac; \
		(cd $$m && env $$gowork $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 30m ./...) | grep -E '^(Benchmark|pkg:|ok|FAIL)'; \
	done; } | tee $(BENCH_RESULTS)

lint:
	@out=$$(gofmt -l $(CODE_MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(CODE_MODULES); do \
		echo "=== lint $$m"; \
		gowork=""; case " $(OUTSIDE_WORK) " in *" $$m "*) gowork="GOWORK=off";; esac; \
		(cd $$m && env $$gowork $(GO) vet ./... && env $$gowork $(GO) run $(STATICCHECK) ./...); \
	done

# Every module is tidied on its own (GOWORK=off); go work sync then lines the workspace's
# modules up on one build list. Modules outside go.work (deploy) come last: they require pkg
# through a replace, so they must see pkg's go.mod as tidied and synced.
tidy:
	@for m in $(WORK_MODULES); do echo "tidy $$m"; (cd $$m && GOWORK=off $(GO) mod tidy); done
	@$(GO) work sync
	@for m in $(OUTSIDE_WORK); do echo "tidy $$m (outside go.work)"; (cd $$m && GOWORK=off $(GO) mod tidy); done

# The deploy module's Helm tests: lint, render, decode, validate the rendered auditpipe.toml.
helm-lint:
	@cd deploy && GOWORK=off $(GO) test -count=1 -run Helm ./...

images:
	@command -v docker >/dev/null || { echo "make images needs docker (none on this machine)"; exit 1; }
	@for pair in $(IMAGES); do \
		name=$${pair%%=*}; file=$${pair#*=}; \
		echo "docker build $(IMAGE_REGISTRY)/$$name:$(IMAGE_TAG) ($$file)"; \
		docker build -f $$file --build-arg VERSION=$(IMAGE_TAG) -t $(IMAGE_REGISTRY)/$$name:$(IMAGE_TAG) .; \
	done
