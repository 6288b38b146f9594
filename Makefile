# authd: common tasks. `make run` needs only the Rust toolchain;
# `make test` also needs PostgreSQL: a server on 127.0.0.1:5432, or its
# server programs installed, or AUTHD_TEST_DATABASE_URL (see README).

CARGO ?= cargo

.PHONY: run test lint fmt openapi check-openapi sdk fuzz-api build release clean

run: ## Run the server on the embedded SQLite store (data/)
	$(CARGO) run --release -p authd -- serve

test: ## Run every test (on a private PostgreSQL when none answers)
	scripts/with-test-postgres $(CARGO) test --workspace --all-features

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
