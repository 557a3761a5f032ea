# socker — see README.md. `make help` lists the targets.
SHELL   := /bin/sh
GO      ?= go
# The config path compiled into socker. It can be changed only here, at build time.
CONFIG  ?= /etc/socker/socker.toml
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
OUT     ?= bin/socker
PREFIX  ?= /usr/local
# The config `make install` installs when none exists: a cluster node's.
# The quickstart installs packaging/socker-local.toml (one machine).
SITE_CONFIG ?= packaging/socker.toml
IMAGE   ?= socker-test/tiny:1
# Static, no cgo (no dynamic loader, so no LD_* environment can reach it), no
# VCS stamping of a dirty tree, reproducible paths.
LDFLAGS := -s -w -X github.com/sockerhpc/socker/internal/build.ConfigPath=$(CONFIG) -X github.com/sockerhpc/socker/internal/build.Version=$(VERSION)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'

.PHONY: help build man package test integration test-mesos test-v2 test-all check fmt vet shellcheck deps-check deps-list fuzz install demo bench mpi-image clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/socker (CONFIG=path sets the compiled-in config path)
	$(BUILD) -o $(OUT) ./cmd/socker

man: ## man pages socker(8), mrun(1), socker.toml(5) into bin/man, generated from the source of --help
	$(GO) run -ldflags '$(LDFLAGS)' ./internal/mangen -out bin/man

package: build man ## .deb and .rpm into bin/pkg (nfpm, fetched from the Go module proxy)
	packaging/package.sh

test: ## unit tests: no root, no Docker
	$(GO) test ./...

integration: ## root tests: real dockerd, setuid binary, users, cgroups (as root)
	$(GO) test -tags integration -count=1 -timeout 30m -v ./test/integration/ ./sched/localmesos/

test-mesos: ## real-agent tier: mrun jobs through a real Mesos 1.12 master and agent on loopback, three isolator sets (as root; on its own, before integration)
	$(GO) test -tags integration -count=1 -timeout 20m -v ./test/realagent/

test-v2: ## cgroup v2 tier: the .deb and test/v2 in a Debian 12 guest with systemd on cgroup v2, under qemu (as root; slow: TCG)
	scripts/vm/test-v2.sh

test-all: ## the README's test command (scripts/test.sh): set up this machine, then every tier (as root)
	scripts/test.sh

check: fmt vet shellcheck deps-check test ## formatting, vet, shellcheck, dependency fences and list, unit tests

fmt: ## fail if gofmt would change anything
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi

vet: ## go vet, including the integration-tagged files
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags v2 ./test/v2/

# Every shell script in scripts/, packaging/ and .ci/ that git knows of
# (tracked, or new and not ignored): *.sh, or a sh/bash/dash shebang.
shellcheck: ## shellcheck every shell script in scripts/, packaging/, .ci/ (found by name and by shebang); fails if shellcheck is missing
	@command -v shellcheck >/dev/null 2>&1 || { echo "shellcheck is not installed: apt-get install shellcheck (scripts/setup.sh installs it)" >&2; exit 1; }
	@files=$$(git ls-files --cached --others --exclude-standard -- scripts packaging .ci | sort -u | while read -r f; do \
		[ -f "$$f" ] || continue; \
		case $$f in *.sh) echo "$$f"; continue ;; esac; \
		head -n 1 "$$f" | grep -Eq '^#! *(/usr)?/bin/(env +)?(sh|bash|dash)([[:space:]]|$$)' && echo "$$f"; \
	done); \
	[ -n "$$files" ] || { echo "shellcheck: no shell scripts found" >&2; exit 1; }; \
	echo shellcheck $$files; \
	shellcheck $$files

deps-check: ## fences: the setuid binary links no scheduler, mesos-go, os/exec or test code; every env reader it links is reviewed; it links exactly cmd/socker/deps.txt
	$(GO) test -count=1 -run '^TestDeps_' ./cmd/socker

deps-list: ## regenerate cmd/socker/deps.txt, the list of every package socker links (review the diff, commit it)
	$(GO) test -count=1 -run '^TestDeps_List$$' ./cmd/socker -update
	@echo 'wrote cmd/socker/deps.txt: review git diff -- cmd/socker/deps.txt (every added package runs as root), then commit it'

# A count, not a duration: Go before 1.27 can fail a duration-bounded run with
# "context deadline exceeded" and no failing input (golang/go#75804).
FUZZTIME ?= 200000x
fuzz: ## run every fuzz target for FUZZTIME each (inputs that fail are kept in testdata/fuzz and then run by `make test`)
	$(GO) test ./cgroup   -run='^$$' -fuzz='^FuzzParse$$'          -fuzztime=$(FUZZTIME)
	$(GO) test ./cgroup   -run='^$$' -fuzz='^FuzzJudge$$'          -fuzztime=$(FUZZTIME)
	$(GO) test ./security -run='^$$' -fuzz='^FuzzParseConfig$$'    -fuzztime=$(FUZZTIME)
	$(GO) test ./security -run='^$$' -fuzz='^FuzzNormalizeImage$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./security -run='^$$' -fuzz='^FuzzParseMount$$'     -fuzztime=$(FUZZTIME)
	$(GO) test ./security -run='^$$' -fuzz='^FuzzDecide$$'         -fuzztime=$(FUZZTIME)

install: build ## install socker setuid root and mrun into $(PREFIX)/bin, and SITE_CONFIG as the config and packaging/seccomp's profile beside it unless they exist (as root)
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/mrun ./cmd/mrun
	install -o root -g root -m 4755 $(OUT) $(PREFIX)/bin/socker
	install -o root -g root -m 0755 bin/mrun $(PREFIX)/bin/mrun
	install -d -o root -g root -m 0755 $(dir $(CONFIG))
	[ -e $(CONFIG) ] || install -o root -g root -m 0644 $(SITE_CONFIG) $(CONFIG)
	[ -e $(dir $(CONFIG))seccomp.json ] || install -o root -g root -m 0644 packaging/seccomp/seccomp.json $(dir $(CONFIG))seccomp.json
	install -d -o root -g root -m 0700 /var/log/socker

demo: ## the README's main job (scripts/quickstart.sh): set up, install, run an MPI job through mrun on the local Mesos as the demo user (as root)
	scripts/quickstart.sh

bench: ## benchmarks (as root): socker run vs docker run --rm; Place on 10,000 offers; MPI hello and ping-pong native vs through socker
	$(GO) run ./test/bench -image $(IMAGE)
	$(GO) test -run '^$$' -bench '^BenchmarkPlace$$' -benchtime 20x ./sched/placement
	packaging/mpi-image/bench.sh

mpi-image: ## build the local MPI image socker/mpich:4 from this host's MPICH (FORCE=1 rebuilds; as root)
	packaging/mpi-image/build.sh socker/mpich:4

clean: ## remove build outputs
	rm -rf bin
