# Builds the NIF, the wasm guests and the Erlang application; runs the demo,
# the tests, the lints and the benchmark. `make help` lists the targets.

CARGO      ?= cargo
REBAR3     ?= rebar3
CLANG      ?= clang
CRATE_DIR  := native/wasm_runtime_nif
NIF_SO     := priv/libwasm_runtime_nif.so
# Where cargo builds: CARGO_TARGET_DIR when given (absolute), else beside the
# crate.
CARGO_TARGET := $(or $(CARGO_TARGET_DIR),$(CRATE_DIR)/target)
# The NIF's inputs. The library is rebuilt only when one is newer: a build
# that changes nothing (a project depending on this one compiles it on every
# `mix run`) runs no cargo.
NIF_SOURCES := $(shell find $(CRATE_DIR)/src -name '*.rs') \
               $(addprefix $(CRATE_DIR)/,Cargo.toml Cargo.lock build.rs)
TIMEOUT    := timeout -k 10

GUEST_CFLAGS := --target=wasm32 -nostdlib -O2 -Iinclude \
                -Wl,--no-entry -Wl,--export-dynamic -Wl,--allow-undefined
# The command of the guest ABI document, used by modules built against the
# seed's header: test/*_SUITE_data/seed_style*.c are built with it.
SEED_CFLAGS := --target=wasm32 --no-standard-libraries -O2 \
               -Wl,--export-all -Wl,--no-entry -Wl,--allow-undefined
SEED_STYLE_GUESTS := $(patsubst %.c,%.wasm,$(wildcard test/*_SUITE_data/seed_style*.c))
# Guests written with the Rust SDK (sdk/rust): a crate beside the suite,
# built for wasm32 into the SDK's own target directory.
RUST_SDK_DIR     := sdk/rust/erl_nif_wasm
RUST_SDK_TARGET  := $(CURDIR)/sdk/rust/target
RUST_GUEST_DIR   := test/wasm_runtime_nif_rust_sdk_SUITE_data/rust_guest
RUST_GUESTS      := $(if $(wildcard $(RUST_GUEST_DIR)/Cargo.toml),$(RUST_GUEST_DIR).wasm)
RUST_SDK_SOURCES := $(shell find $(RUST_SDK_DIR) -name '*.rs' -o -name Cargo.toml 2>/dev/null)
# WASI programs: C files named wasi_*.c beside a suite, built against
# wasi-libc (Debian's wasi-libc and libclang-rt-14-dev-wasm32).
WASI_CFLAGS      := --target=wasm32-wasi --sysroot=/usr -O2
WASI_C_GUESTS    := $(patsubst %.c,%.wasm,$(wildcard test/*_SUITE_data/wasi_*.c))
# A crates.io program (pulldown-cmark) built for wasm32-wasip1, and natively
# for the suite to compare their output.
WASI_RUST_DIR    := test/wasm_runtime_nif_wasi_SUITE_data/markdown
WASI_RUST_TARGET := $(CURDIR)/$(WASI_RUST_DIR)/target
WASI_RUST_GUESTS := $(if $(wildcard $(WASI_RUST_DIR)/Cargo.toml),$(WASI_RUST_DIR).wasm $(WASI_RUST_DIR).native $(WASI_RUST_DIR).component.wasm)
# Components (the component model) built by the standard toolchain: Rust for
# wasm32-wasip2 with the wit-bindgen crate, one workspace of crates beside
# the suite, each crate a component copied beside it.
COMPONENT_DIR     := test/wasm_runtime_nif_component_SUITE_data/components
COMPONENT_TARGET  := $(CURDIR)/$(COMPONENT_DIR)/target
COMPONENT_CRATES  := $(if $(wildcard $(COMPONENT_DIR)/Cargo.toml),$(notdir $(patsubst %/Cargo.toml,%,$(wildcard $(COMPONENT_DIR)/*/Cargo.toml))))
COMPONENT_GUESTS  := $(patsubst %,test/wasm_runtime_nif_component_SUITE_data/%.wasm,$(COMPONENT_CRATES))
COMPONENT_SOURCES := $(shell find $(COMPONENT_DIR) -path '*/target' -prune -o \( -name '*.rs' -o -name '*.wit' -o -name Cargo.toml -o -name Cargo.lock \) -print 2>/dev/null)
# Guests compiled from C: the bundled example and every C file beside a suite.
C_GUESTS := priv/example.wasm priv/guide_examples.wasm \
            $(filter-out $(SEED_STYLE_GUESTS) $(WASI_C_GUESTS),$(patsubst %.c,%.wasm,$(wildcard test/*_SUITE_data/*.c)))

.PHONY: all setup native dependency docs guests compile demo test test-rust test-erlang lint fmt bench clean help \
        fuzz fuzz-tools

all: compile

native: $(NIF_SO)

# What a project depending on this one builds (rebar.config's compile hook,
# run in this directory): the NIF, the bundled example and the doc chunks,
# nothing of the tests. Without clang there is no bundled example, and
# `init/0` says so.
HAVE_CLANG := $(shell command -v $(CLANG) 2>/dev/null)
dependency: native docs $(if $(HAVE_CLANG),priv/example.wasm)
	$(if $(HAVE_CLANG),,@[ -f priv/example.wasm ] || \
	  echo "wasm_runtime_nif: no $(CLANG): priv/example.wasm (for init/0) not built")

# EEP-48 doc chunks for `h`, in doc/chunks beside ebin's parent. Erlang's
# shell finds them from an ebin anywhere below this directory; iex looks in
# ebin/../doc only, so the application's build directories (rebar3's, and
# mix's, which compiles a path dependency elsewhere) get a link to them.
ERL_SOURCES := $(wildcard src/*.erl)
DOC_CHUNKS  := $(patsubst src/%.erl,doc/chunks/%.chunk,$(ERL_SOURCES))
docs: $(DOC_CHUNKS)
	@for out in "$$REBAR_BARE_COMPILER_OUTPUT_DIR" \
	            "$${REBAR_BUILD_DIR:+$$REBAR_BUILD_DIR/lib/wasm_runtime_nif}"; do \
	   if [ -n "$$out" ] && [ "$$(cd "$$out" 2>/dev/null && pwd -P)" != "$$(pwd -P)" ] && \
	      { [ -L "$$out/doc" ] || [ ! -e "$$out/doc" ]; }; then \
	     mkdir -p "$$out" && ln -sfn "$(CURDIR)/doc" "$$out/doc"; fi; done

$(DOC_CHUNKS) &: $(ERL_SOURCES) $(wildcard include/*.hrl)
	@scripts/doc-chunks $(ERL_SOURCES)

# make only copies the library when cargo changed it, by renaming a copy over
# it: a VM running the old one keeps its pages.
$(NIF_SO): $(NIF_SOURCES)
	@mkdir -p priv
	cd $(CRATE_DIR) && $(CARGO) build --release --quiet
	@cmp -s $(CARGO_TARGET)/release/libwasm_runtime_nif.so $@ || \
	  { cp $(CARGO_TARGET)/release/libwasm_runtime_nif.so $@.new && mv $@.new $@; }
	@touch $@

guests: $(C_GUESTS) $(SEED_STYLE_GUESTS) $(RUST_GUESTS) $(WASI_C_GUESTS) $(WASI_RUST_GUESTS) \
        $(COMPONENT_GUESTS)

# One cargo build makes every component of the workspace.
$(COMPONENT_GUESTS) &: $(COMPONENT_SOURCES)
	CARGO_TARGET_DIR=$(COMPONENT_TARGET) $(CARGO) build --quiet --release --locked \
	  --target wasm32-wasip2 --manifest-path $(COMPONENT_DIR)/Cargo.toml
	$(foreach crate,$(COMPONENT_CRATES),cp $(COMPONENT_TARGET)/wasm32-wasip2/release/$(crate).wasm \
	  test/wasm_runtime_nif_component_SUITE_data/$(crate).wasm;)

# A reactor (wasi_reactor*.c) is a library set up by _initialize; it may use
# the guest term ABI too.
$(WASI_C_GUESTS): %.wasm: %.c include/erl_nif_wasm.h
	$(CLANG) $(WASI_CFLAGS) $(if $(findstring wasi_reactor,$@),-mexec-model=reactor -Iinclude) $< -o $@

$(WASI_RUST_DIR).wasm: $(wildcard $(WASI_RUST_DIR)/src/*.rs) $(WASI_RUST_DIR)/Cargo.toml $(WASI_RUST_DIR)/Cargo.lock
	CARGO_TARGET_DIR=$(WASI_RUST_TARGET) $(CARGO) build --quiet --release --locked \
	  --target wasm32-wasip1 --manifest-path $(WASI_RUST_DIR)/Cargo.toml
	cp $(WASI_RUST_TARGET)/wasm32-wasip1/release/markdown.wasm $@

# The same program for wasm32-wasip2: a command component, which exports
# wasi:cli/run (a WIT interface nobody wrote for this library).
$(WASI_RUST_DIR).component.wasm: $(wildcard $(WASI_RUST_DIR)/src/*.rs) $(WASI_RUST_DIR)/Cargo.toml $(WASI_RUST_DIR)/Cargo.lock
	CARGO_TARGET_DIR=$(WASI_RUST_TARGET) $(CARGO) build --quiet --release --locked \
	  --target wasm32-wasip2 --manifest-path $(WASI_RUST_DIR)/Cargo.toml
	cp $(WASI_RUST_TARGET)/wasm32-wasip2/release/markdown.wasm $@

$(WASI_RUST_DIR).native: $(wildcard $(WASI_RUST_DIR)/src/*.rs) $(WASI_RUST_DIR)/Cargo.toml $(WASI_RUST_DIR)/Cargo.lock
	CARGO_TARGET_DIR=$(WASI_RUST_TARGET) $(CARGO) build --quiet --release --locked \
	  --manifest-path $(WASI_RUST_DIR)/Cargo.toml
	cp $(WASI_RUST_TARGET)/release/markdown $@

$(RUST_GUESTS): $(RUST_SDK_SOURCES) $(wildcard $(RUST_GUEST_DIR)/src/*.rs) $(RUST_GUEST_DIR)/Cargo.toml
	CARGO_TARGET_DIR=$(RUST_SDK_TARGET) $(CARGO) build --quiet --release \
	  --target wasm32-unknown-unknown --manifest-path $(RUST_GUEST_DIR)/Cargo.toml
	cp $(RUST_SDK_TARGET)/wasm32-unknown-unknown/release/rust_guest.wasm $@

$(SEED_STYLE_GUESTS): %.wasm: %.c
	$(CLANG) $(SEED_CFLAGS) $< -o $@

priv/%.wasm: guests/%.c include/erl_nif_wasm.h
	@mkdir -p priv
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

test/%.wasm: test/%.c include/erl_nif_wasm.h
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

compile: native guests
	$(REBAR3) compile

# Installs missing system packages (Debian); a quick no-op when all are there.
setup:
	@scripts/setup-debian.sh

demo: setup
	$(MAKE) --no-print-directory compile
	$(TIMEOUT) 120 escript examples/seed_session.escript

test: setup
	$(MAKE) --no-print-directory lint test-rust test-erlang

test-rust:
	cd $(CRATE_DIR) && $(TIMEOUT) 1200 $(CARGO) test --release
	cd $(RUST_SDK_DIR) && CARGO_TARGET_DIR=$(RUST_SDK_TARGET) $(TIMEOUT) 600 $(CARGO) test --quiet

test-erlang: compile fuzz-tools
	$(TIMEOUT) 1800 $(REBAR3) do eunit, ct

# rustfmt and clippy are rustup components; without them their checks are
# skipped with a notice rather than failing the build.
lint: compile
	@if $(CARGO) fmt --version >/dev/null 2>&1; then \
	  echo "cargo fmt --check"; cd $(CRATE_DIR) && $(CARGO) fmt --check && \
	  cd $(CURDIR)/$(RUST_SDK_DIR) && $(CARGO) fmt --check && \
	  cd $(CURDIR)/$(RUST_GUEST_DIR) && $(CARGO) fmt --check; \
	else echo "lint: rustfmt not installed, skipping cargo fmt --check"; fi
	@if $(CARGO) clippy --version >/dev/null 2>&1; then \
	  echo "cargo clippy -D warnings"; \
	  cd $(CRATE_DIR) && $(CARGO) clippy --release --all-targets --features fuzz --quiet -- -D warnings && \
	  cd $(CURDIR)/$(RUST_SDK_DIR) && CARGO_TARGET_DIR=$(RUST_SDK_TARGET) \
	    $(CARGO) clippy --all-targets --quiet -- -D warnings && \
	  CARGO_TARGET_DIR=$(RUST_SDK_TARGET) $(CARGO) clippy --quiet \
	    --target wasm32-unknown-unknown -- -D warnings && \
	  cd $(CURDIR)/$(RUST_GUEST_DIR) && CARGO_TARGET_DIR=$(RUST_SDK_TARGET) \
	    $(CARGO) clippy --release --quiet --target wasm32-unknown-unknown -- -D warnings; \
	else echo "lint: clippy not installed, skipping cargo clippy"; fi
	$(REBAR3) xref
	$(TIMEOUT) 1200 $(REBAR3) dialyzer

fmt:
	cd $(CRATE_DIR) && $(CARGO) fmt
	cd $(RUST_SDK_DIR) && $(CARGO) fmt
	cd $(RUST_GUEST_DIR) && $(CARGO) fmt

# The benchmark: builds its native baselines (a C NIF) and its wasm kernels
# beside it in bench/_build, then prints the table and writes results.csv.
BENCH_BUILD := bench/_build
ERL_INCLUDE = $(shell erl -noshell -eval 'io:format("~s", [filename:join([code:root_dir(), "usr", "include"])]), halt().')

$(BENCH_BUILD)/wasm_bench_native.so: bench/bench_native.c bench/kernels.c
	@mkdir -p $(BENCH_BUILD)
	$(CC) -O2 -fPIC -shared -I$(ERL_INCLUDE) bench/bench_native.c bench/kernels.c -o $@

$(BENCH_BUILD)/kernels.wasm: bench/kernels.c
	@mkdir -p $(BENCH_BUILD)
	$(CLANG) --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--export-dynamic $< -o $@

# The same kernels as a WASI reactor, and the WASI program, built against
# wasi-libc: WASI's cost against the plain module.
$(BENCH_BUILD)/terms.wasm: bench/terms.c include/erl_nif_wasm.h
	@mkdir -p $(BENCH_BUILD)
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

$(BENCH_BUILD)/wasi_kernels.wasm: bench/kernels.c
	@mkdir -p $(BENCH_BUILD)
	$(CLANG) $(WASI_CFLAGS) -mexec-model=reactor $< -o $@

$(BENCH_BUILD)/wasi_program.wasm: bench/wasi_program.c
	@mkdir -p $(BENCH_BUILD)
	$(CLANG) $(WASI_CFLAGS) $< -o $@

bench: setup
	$(MAKE) --no-print-directory compile $(BENCH_BUILD)/wasm_bench_native.so $(BENCH_BUILD)/kernels.wasm \
	  $(BENCH_BUILD)/wasi_kernels.wasm $(BENCH_BUILD)/wasi_program.wasm $(BENCH_BUILD)/terms.wasm
	cp bench/host.wat $(BENCH_BUILD)/
	erlc -o $(BENCH_BUILD) bench/wasm_bench.erl bench/wasm_bench_native.erl
	$(TIMEOUT) 900 erl -noshell -pa _build/default/lib/wasm_runtime_nif/ebin -pa $(BENCH_BUILD) \
	  -eval 'wasm_bench:main(), halt().'

# Fuzzing (docs/fuzzing.md). The generator and reference is a binary of the
# NIF crate behind the `fuzz` feature, built only here and for the bounded
# campaign of `make test`; `make fuzz` runs a campaign as long as asked:
#   make fuzz FUZZ_MODULES=100000 FUZZ_SECONDS=7200 FUZZ_SEED=42
FUZZ_BUILD   := fuzz/_build
FUZZ_TOOL    := $(CARGO_TARGET)/release/wasm_fuzz
FUZZ_COMPONENT_STEPS ?= 20000
FUZZ_MODULES ?= 10000
FUZZ_SECONDS ?= 3600
FUZZ_TERMS   ?= 100000
FUZZ_SEED    ?= $(shell date +%s)

fuzz-tools: $(FUZZ_BUILD)/term_interp.wasm
	cd $(CRATE_DIR) && $(CARGO) build --release --quiet --features fuzz --bin wasm_fuzz

$(FUZZ_BUILD)/term_interp.wasm: fuzz/term_interp.c include/erl_nif_wasm.h
	@mkdir -p $(FUZZ_BUILD)
	$(CLANG) $(GUEST_CFLAGS) $< -o $@

fuzz: setup
	$(MAKE) --no-print-directory compile fuzz-tools
	erlc -o $(FUZZ_BUILD) fuzz/wasm_fuzz.erl fuzz/wasm_fuzz_terms.erl fuzz/wasm_fuzz_components.erl
	$(TIMEOUT) $$(( $(FUZZ_SECONDS) + 1800 )) erl -noshell \
	  -pa _build/default/lib/wasm_runtime_nif/ebin -pa $(FUZZ_BUILD) \
	  -run wasm_fuzz main modules=$(FUZZ_MODULES) seconds=$(FUZZ_SECONDS) \
	  terms=$(FUZZ_TERMS) seed=$(FUZZ_SEED) dir=$(FUZZ_BUILD)/campaign tool=$(FUZZ_TOOL) \
	  interp=$(FUZZ_BUILD)/term_interp.wasm components=$(FUZZ_COMPONENT_STEPS) \
	  echo=test/wasm_runtime_nif_component_SUITE_data/echo.wasm

clean:
	rm -rf _build doc bench/_build fuzz/_build priv/*.so priv/*.wasm test/*_SUITE_data/*.wasm sdk/rust/target
	cd $(CRATE_DIR) && $(CARGO) clean

help:
	@echo "make          build the NIF, the guests and the application"
	@echo "make demo     replay the seed README's session on the bundled module"
	@echo "make test     lints, Rust unit tests, EUnit and Common Test"
	@echo "make bench    the benchmark table (also bench/_build/results.csv)"
	@echo "make fuzz     a fuzzing campaign (FUZZ_MODULES, FUZZ_SECONDS, FUZZ_SEED)"
	@echo "make setup    install missing Debian packages (run by demo and test)"

