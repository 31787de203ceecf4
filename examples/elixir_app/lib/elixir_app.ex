defmodule ElixirApp do
  @moduledoc """
  Calls into the example module bundled with wasm_runtime_nif
  (`priv/example.wasm`, built from `guests/example.c`).
  """

  @doc "Adds two integers in the guest, as 32-bit wasm numbers."
  @spec add(integer(), integer()) :: integer()
  def add(a, b) do
    :wasm_runtime_nif.call_raw(instance(), :add_I32, [a, b])
  end

  @doc "Reverses a binary in the guest, passed as an Erlang term."
  @spec reverse(binary()) :: binary()
  def reverse(bytes) when is_binary(bytes) do
    :wasm_runtime_nif.call(instance(), :binary_reverse, [bytes])
  end

  @doc "Has the guest print a greeting with `n`, which it returns."
  @spec hello(integer()) :: integer()
  def hello(n) do
    :wasm_runtime_nif.call(instance(), :hello, [n])
  end

  defp instance do
    :ok = :wasm_runtime_nif.init()
    :wasm_runtime_nif.new()
  end
end
