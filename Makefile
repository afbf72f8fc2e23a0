# votegraph: the two commands of the quick start are `make demo` and `make test`.
# The build directory lives outside the clone so that fresh clones (CI) reuse compiled crates.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/votegraph/target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/votegraph
DEMO_DIR ?= $(CARGO_TARGET_DIR)/demo

.PHONY: setup build demo test lint bench fmt

setup:
	@./scripts/setup.sh

build: setup
	$(CARGO) build --release --locked -p votegraph-node

DEMO_VOTERS ?= 100000

# A local 4-validator cluster runs a whole election: the bundled ElectionGuard sample manifest,
# a generated roll, every voter's signed ballot through the gateways, the tally on every node.
demo: build
	@mkdir -p $(DEMO_DIR)
	rm -rf $(DEMO_DIR)/election
	$(BIN) demo --validators 4 --voters $(DEMO_VOTERS) --out $(DEMO_DIR)/election

test: setup
	$(CARGO) test --release --locked --workspace

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

bench: setup
	$(CARGO) bench --locked -p votegraph-benches

fmt:
	$(CARGO) fmt --all
