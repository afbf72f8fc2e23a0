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

demo: build
	@mkdir -p $(DEMO_DIR)
	$(BIN) consensus generate --members 7 --events 20000 --seed 42 --weights 1,1,2,1,3,1,1 --transactions-per-event 4 --out $(DEMO_DIR)/gossip.json
	$(BIN) consensus replay $(DEMO_DIR)/gossip.json --summary
	rm -rf $(DEMO_DIR)/cluster
	$(BIN) bench --validators 4 --rate 1000 --duration 10 --warmup 2 --out $(DEMO_DIR)/cluster

test: setup
	$(CARGO) test --release --locked --workspace

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

bench: setup
	$(CARGO) bench --locked -p votegraph-benches

fmt:
	$(CARGO) fmt --all
