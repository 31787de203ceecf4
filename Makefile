# Builds the NIF, the wasm guests and the Erlang application; runs the demo,
# the tests, the lints and the benchmark. `make help` lists the targets.

CARGO      ?= cargo
REBAR3     ?= rebar3
CLANG      ?= clang
CRATE_DIR  := native/wasm_runtime_nif
NIF_SO     := priv/libwasm_runtime_nif.so
TIMEOUT    := timeout -k 10

GUEST_CFLAGS := --target=wasm32 -nostdlib -O2 -Iinclude \
                -Wl,--no-entry -Wl,--export-dynamic -Wl,--allow-undefined
# Guests compiled from C: the bundled example and every C file beside a suite.
C_GUESTS := priv/example.wasm $(patsubst %.c,%.wasm,$(wildcard test/*_SUITE_data/*.c))

.PHONY: all native guests compile demo test test-rust test-erlang lint clean help

all: compile

native: $(NIF_SO)

# cargo decides what to rebuild; make only copies the library when it changed.
$(NIF_SO): FORCE
	@mkdir -p priv
	cd $(CRATE_DIR) && $(CARGO) build --release --quiet
	@cmp -s $(CRATE_DIR)/target/release/libwasm_runtime_nif.so $@ || \
	  cp $(CRATE_DIR)/target/release/libwasm_runtime_nif.so $@

guests: $(C_GUESTS)

priv/example.wasm: guests/example.c include/erl_nif_wasm.h
	@mkdir -p priv
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

test/%.wasm: test/%.c include/erl_nif_wasm.h
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

compile: native guests
	$(REBAR3) compile

demo: compile
	$(TIMEOUT) 120 escript examples/seed_session.escript

test: lint test-rust test-erlang

test-rust:
	cd $(CRATE_DIR) && $(TIMEOUT) 1200 $(CARGO) test --release

test-erlang: compile
	$(TIMEOUT) 900 $(REBAR3) do eunit, ct

lint: compile
	cd $(CRATE_DIR) && $(CARGO) fmt --check
	cd $(CRATE_DIR) && $(CARGO) clippy --release --all-targets --quiet -- -D warnings
	$(REBAR3) xref
	$(TIMEOUT) 1200 $(REBAR3) dialyzer

clean:
	rm -rf _build priv/*.so priv/*.wasm test/*_SUITE_data/*.wasm
	cd $(CRATE_DIR) && $(CARGO) clean

help:
	@echo "make          build the NIF, the guests and the application"
	@echo "make demo     replay the seed README's session on the bundled module"
	@echo "make test     lints, Rust unit tests, EUnit and Common Test"

FORCE:
