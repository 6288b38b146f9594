# authd: common tasks. `make run` needs only the Rust toolchain;
# `make test` also needs PostgreSQL: a server on 127.0.0.1:5432, or its
# server programs installed, or AUTHD_TEST_DATABASE_URL (see README).

CARGO ?= cargo

.PHONY: run test test-ha lint fmt openapi check-openapi sdk fuzz-api build release clean bench bench-smoke

run: ## Run the server on the embedded SQLite store (data/)
	$(CARGO) run --release -p authd -- serve

test: ## Run every test (on a private PostgreSQL when none answers)
	scripts/with-test-postgres $(CARGO) test --workspace --all-features

test-ha: ## Every Patroni fault (switchover, failover, kill -9 postmaster, kill -9 Patroni and postmaster, read-only) under load, about 3 minutes
	@command -v patroni >/dev/null && command -v etcd >/dev/null || { \
	  echo "test-ha: installing patroni and etcd-server"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q patroni etcd-server >/dev/null; }
	AUTHD_TEST_HA=full scripts/with-test-postgres $(CARGO) test -p authd --all-features --test api -- ha:: --nocapture

lint: ## Formatting and clippy, as CI runs them
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

openapi: ## Regenerate the committed OpenAPI document
	$(CARGO) run -q -p authd -- openapi > openapi/openapi.json

check-openapi: ## Fail when openapi/openapi.json is stale
	$(CARGO) run -q -p authd -- openapi | diff -u openapi/openapi.json -

sdk: ## Generate Python and TypeScript clients and walk the core flow with each
	bash .ci/sdk

fuzz-api: ## schemathesis with every check against a running server, 25 minutes
	bash .ci/fuzz-api --full

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p authd

clean:
	$(CARGO) clean

bench: ## Benchmarks on PostgreSQL and SQLite against their references, under 10 minutes from a fresh clone (release build included); writes docs/benchmarks.md
	bench/run

bench-smoke: ## Every benchmark step for a few seconds per store (CI); report under target/bench/
	bench/run --smoke
