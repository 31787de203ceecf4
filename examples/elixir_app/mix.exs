# Without hex, mix finds rebar3 (which builds wasm_runtime_nif) through
# MIX_REBAR3; `mix local.rebar rebar3 /usr/bin/rebar3` is the other way.
if System.get_env("MIX_REBAR3") == nil and System.find_executable("rebar3") do
  System.put_env("MIX_REBAR3", System.find_executable("rebar3"))
end

defmodule ElixirApp.MixProject do
  use Mix.Project

  def project do
    [
      app: :elixir_app,
      version: "0.1.0",
      elixir: "~> 1.14",
      deps: deps()
    ]
  end

  def application do
    [extra_applications: [:logger]]
  end

  defp deps do
    [{:wasm_runtime_nif, path: "../..", manager: :rebar3}]
  end
end
