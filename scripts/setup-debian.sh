#!/bin/sh
# Installs what building and testing wasm_runtime_nif needs on Debian 12 (or
# Ubuntu): Erlang/OTP with headers and test tools, rebar3, clang and lld for
# wasm guests, a C compiler, and git and Elixir (mix) for the tests that use
# the library as a dependency. Rust (cargo, with clippy and rustfmt for the
# lints) must already be installed, from rustup; the wasm32-unknown-unknown
# target for Rust guests is added here.
#
# Elsewhere, install the equivalents: Erlang/OTP >= 25 with erl_nif.h,
# common_test, eunit, dialyzer and PropEr; rebar3; clang and wasm-ld >= 14;
# a C compiler; Rust >= 1.95.
set -eu

packages="erlang-base erlang-dev erlang-eunit erlang-common-test erlang-tools \
erlang-dialyzer erlang-syntax-tools erlang-parsetools erlang-crypto erlang-edoc \
erlang-xmerl erlang-proper erlang-proper-dev rebar3 clang lld make gcc \
wasi-libc libclang-rt-14-dev-wasm32 git elixir"

if ! command -v dpkg-query >/dev/null 2>&1; then
  for tool in erl rebar3 clang wasm-ld cc cargo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "setup: $tool not found (not Debian: install it by hand)" >&2; exit 1; }
  done
  exit 0
fi

missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  echo "setup: installing$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust >= 1.95 with rustup (https://rustup.rs)" >&2
  exit 1
fi
# Rust guests are compiled for wasm32: the SDK's tests, WASI programs and
# components (wasm32-wasip2).
for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
  if ! rustc --print target-libdir --target "$target" 2>/dev/null | xargs -I{} test -d {}; then
    if command -v rustup >/dev/null 2>&1; then
      echo "setup: rustup target add $target"
      rustup target add "$target" >/dev/null
    else
      echo "setup: the $target Rust target is missing and rustup is not there to add it" >&2
      exit 1
    fi
  fi
done
for tool in clippy rustfmt; do
  if ! cargo "$(echo $tool | sed 's/rustfmt/fmt/')" --version >/dev/null 2>&1; then
    echo "setup: cargo $tool missing; 'rustup component add $tool' (make lint skips it until then)" >&2
  fi
done
echo "setup: ready ($(erl -noshell -eval 'io:format("OTP ~s", [erlang:system_info(otp_release)]), halt().'), $(rebar3 version | cut -d' ' -f1-2), $(cargo --version | cut -d' ' -f1-2), $(clang --version | head -1))"
