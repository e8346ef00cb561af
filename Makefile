# Every entry point of the repo. `make help` lists them.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: help setup build test lint fmt run-local clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install what a fresh machine lacks (cmake, a C toolchain)
	./scripts/setup.sh

build: ## build every binary of the workspace (debug)
	$(CARGO) build --workspace --bins

test: build ## run every test (unit and process tests of the real binaries)
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --no-fail-fast; \
	fi

lint: ## formatting check and clippy with warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

run-local: build ## run the gateway against the mock config-server and controller on 127.0.0.1
	./scripts/run-local.sh

clean: ## remove build output
	$(CARGO) clean
