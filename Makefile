# felt: every set-up step a fresh machine needs lives here, so `make demo` and `make test` work on a
# clean clone as root with nothing installed by hand.
SHELL := /bin/bash
# Native addons (ours and raw-socket) build against the running Node's own headers: no download.
export npm_config_nodedir := $(shell node -p "require('path').resolve(process.execPath, '../..')")
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PNPM_VERSION := 12.4.2
# What tests and the demo need from Debian.
APT_PACKAGES := etcd-server etcd-client iperf3 iproute2 iptables iputils-ping ethtool prometheus
# What only the benchmarks need: the C userspace tunnels felt is compared with.
APT_BENCH_PACKAGES := quicktun tinc fastd

.PHONY: help setup apt pnpm deps build test unit system lint bench bench-quick demo clean

help:
	@echo "make demo   - build, start etcd and a 3-node felt cluster in namespaces, send traffic, show metrics"
	@echo "make test   - install what is missing, build, lint, run every test (unit + system)"
	@echo "make bench  - felt against the kernel's vxlan and C tunnels, side by side (bench-quick: shorter)"
	@echo "make build | setup | lint | clean"

# Installs only what is missing, so it is cheap to run again.
define apt_ensure
	missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing $$missing"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

apt:
	@$(call apt_ensure,$(APT_PACKAGES))

pnpm:
	@if [ "$$(pnpm --version 2>/dev/null)" != "$(PNPM_VERSION)" ]; then \
	  echo "setup: installing pnpm $(PNPM_VERSION)"; npm install -g --silent pnpm@$(PNPM_VERSION); fi

deps: pnpm
	@pnpm install --frozen-lockfile --reporter=silent

setup: apt deps build

build: deps
	@pnpm run --silent build

# Lint and format (biome), and type-check the tests, which tsc -b does not build.
lint: build
	@pnpm exec biome check .
	@pnpm exec tsc -p test/tsconfig.json

unit: setup
	@pnpm exec vitest run --project unit

system: setup
	@pnpm exec vitest run --project system

test: setup lint
	@status=0; pnpm exec vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json \
	  || status=$$?; node test/summary.js .vitest-results.json; exit $$status

bench: setup
	@$(call apt_ensure,$(APT_BENCH_PACKAGES))
	@node bench/run.js

bench-quick: setup
	@$(call apt_ensure,$(APT_BENCH_PACKAGES))
	@node bench/run.js --quick

demo: setup
	@node test/demo.js

clean:
	rm -rf packages/*/dist packages/netio/build .vitest-results.json
