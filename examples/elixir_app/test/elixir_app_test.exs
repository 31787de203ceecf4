defmodule ElixirAppTest do
  use ExUnit.Case, async: true
  import ExUnit.CaptureIO

  test "numbers cross as wasm numbers" do
    assert ElixirApp.add(4, 7) == 11
  end

  test "terms cross as terms" do
    assert ElixirApp.reverse(<<1, 2, 3>>) == <<3, 2, 1>>
  end

  test "what a guest prints goes to the caller's group leader" do
    assert capture_io(fn -> assert ElixirApp.hello(7) == 7 end) ==
             "hello from wasm, you passed 7\n"
  end

  test "a guest's trap is an exception, and its instance is invalidated" do
    {:ok, module} =
      :wasm_runtime_nif.compile("""
      (module (func (export "divide") (param i32 i32) (result i32)
        local.get 0 local.get 1 i32.div_s))
      """)

    {:ok, instance} = :wasm_runtime_nif.instantiate(module)
    assert :wasm_runtime_nif.call_raw(instance, :divide, [7, 2]) == 3

    assert {:trap, :integer_divide_by_zero, _} =
             catch_error(:wasm_runtime_nif.call_raw(instance, :divide, [1, 0]))

    assert {:instance_invalidated, {:trap, :integer_divide_by_zero, _}} =
             catch_error(:wasm_runtime_nif.call_raw(instance, :divide, [7, 2]))
  end

  test "a module compiled from WAT text is called by name" do
    wat = """
    (module (func (export "double") (param i64) (result i64)
      local.get 0 i64.const 2 i64.mul))
    """

    {:ok, module} = :wasm_runtime_nif.compile(wat)
    {:ok, instance} = :wasm_runtime_nif.instantiate(module)
    assert :wasm_runtime_nif.call_raw(instance, :double, [21]) == 42
  end

  test "a long call in a task is interrupted from another process" do
    {:ok, module} = :wasm_runtime_nif.compile(~S[(module (func (export "spin") (loop $l (br $l))))])
    {:ok, instance} = :wasm_runtime_nif.instantiate(module)

    task =
      Task.async(fn ->
        try do
          {:ok, :wasm_runtime_nif.call_raw(instance, :spin, [])}
        catch
          :error, reason -> {:error, reason}
        end
      end)

    wait_until_busy(instance, 1000)
    assert :wasm_runtime_nif.interrupt(instance)
    assert {:error, {:trap, :interrupted, _}} = Task.await(task)
    assert %{state: {:invalidated, {:trap, :interrupted, _}}} = :wasm_runtime_nif.info(instance)
  end

  defp wait_until_busy(instance, tries_left) when tries_left > 0 do
    case :wasm_runtime_nif.info(instance) do
      %{state: :busy} ->
        :ok

      %{state: :idle} ->
        Process.sleep(5)
        wait_until_busy(instance, tries_left - 1)
    end
  end
end
