# Every entry point of the repo. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help setup venv build images-if-docker test test-chart lint fmt run-local conformance base-image image bench soak fuzz clean

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

build: ## build every binary of the workspace (debug)
	$(CARGO) build --workspace --bins

# The docker tier of the tests needs the images; without a Docker engine it reports itself skipped.
images-if-docker:
	@if docker info >/dev/null 2>&1; then ./scripts/image.sh; \
	else echo "test: no Docker engine answers: the docker tier will report itself skipped"; fi

test: build venv images-if-docker ## run every test (unit, process, chart and suite tests; the docker tier when Docker is there)
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

test-chart: build venv ## run only the Helm chart tests (REFRESH_GOLDEN=1 rewrites the goldens)
	$(CARGO) test -p light-gateway-conformance --test chart

lint: ## formatting check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

conformance: build venv ## run the conformance suite (kind, else docker, else local; TARGET= forces one)
	./scripts/conformance.sh

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
