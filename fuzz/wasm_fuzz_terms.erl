%% @doc The term-ABI fuzzer: random programs of term-API calls, run by an
%% interpreter guest (fuzz/term_interp.c) and by a model of the same
%% operations written in Erlang; the two results must be identical (=:=)
%% and survive a term_to_binary round trip. See docs/fuzzing.md.
-module(wasm_fuzz_terms).

-export([run/3, program/1, inputs/1, model/2]).

-define(MAX_DEPTH, 48).
%% Flattened size a program may build up to: far below the library's limits,
%% so that every program's result is predictable.
-define(MAX_WEIGHT, 20000).

-define(OPS, [input, int64, double, atom, binary, string, tuple, list, cons, new_map,
              map_put, map_get, map_remove, map_update, map_from, t2b, b2t, reverse, length,
              compare, identical, type, iolist, sub, get_int64, get_double, get_atom,
              get_string, get_tuple, cell, dup, drop, map_size, bin_size, get_uint64,
              existing_atom]).

%% Atoms a program may make: they exist, so no atom is created.
-define(VOCABULARY, [ok, error, true, false, undefined, wasm_fuzz_failed, 'café', '', a]).

%% Runs N random programs on Instance (an instance of term_interp.wasm),
%% seeded with Seed; returns {Programs, Mismatches} with the first
%% mismatches (program, inputs, expected, got).
run(Instance, Seed, N) ->
    rand:seed(exsss, Seed),
    Mismatches = lists:foldl(
                   fun(_, Acc) ->
                           Inputs = inputs(rand:uniform(6) - 1),
                           Program = program(Inputs),
                           Expected = model(Program, Inputs),
                           Got = try wasm_runtime_nif:call(Instance, run, [Program, Inputs])
                                 catch Class:Reason -> {raised, Class, Reason}
                                 end,
                           RoundTrip = (catch binary_to_term(term_to_binary(Got))),
                           case Got =:= Expected andalso RoundTrip =:= Got of
                               true -> Acc;
                               false when length(Acc) < 10 -> [{Program, Inputs, Expected, Got} | Acc];
                               false -> Acc
                           end
                   end, [], lists:seq(1, N)),
    {N, lists:reverse(Mismatches)}.

%%% ------------------------------------------------------------------
%%% Inputs: terms of every type
%%% ------------------------------------------------------------------

inputs(N) ->
    [term(3) || _ <- lists:seq(1, N)].

term(0) ->
    leaf();
term(Depth) ->
    case rand:uniform(10) of
        1 -> list_to_tuple([term(Depth - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)]);
        2 -> [term(Depth - 1) || _ <- lists:seq(1, rand:uniform(5) - 1)];
        3 -> [term(Depth - 1) | leaf()];
        4 -> maps:from_list([{leaf(), term(Depth - 1)} || _ <- lists:seq(1, rand:uniform(4))]);
        %% Past 32 keys, a map is a hash map.
        5 -> maps:from_list([{K, K * 2} || K <- lists:seq(1, 30 + rand:uniform(10))]);
        6 -> [rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(8) - 1)];
        7 -> [<<"io">>, [rand:uniform(256) - 1, <<"list">>] | <<"tail">>];
        _ -> leaf()
    end.

leaf() ->
    case rand:uniform(14) of
        1 -> rand:uniform(1000) - 500;
        2 -> rand:uniform(1 bsl 62) * (rand:uniform(3) - 2);
        3 -> (1 bsl 64) + rand:uniform(1 bsl 70);
        4 -> -(1 bsl 63);
        5 -> (rand:uniform() - 0.5) * 1.0e10;
        6 -> lists:nth(rand:uniform(length(?VOCABULARY)), ?VOCABULARY);
        7 -> crypto:strong_rand_bytes(rand:uniform(12) - 1);
        8 -> Bin = crypto:strong_rand_bytes(16), binary:part(Bin, 3, 7);
        9 -> <<(rand:uniform(255)):5>>;
        10 -> self();
        11 -> make_ref();
        12 -> fun lists:reverse/1;
        13 -> 'ünïcödé_ατομ';
        _ -> []
    end.

%%% ------------------------------------------------------------------
%%% Programs
%%% ------------------------------------------------------------------

%% A random program over Inputs, as the interpreter reads it. Each stack
%% slot carries a weight (its flattened size, roughly) so that sharing
%% cannot blow a term up past what the model can build.
program(Inputs) ->
    Weights = [erts_debug:flat_size(I) + 1 || I <- Inputs],
    program(rand:uniform(60), Weights, [], []).

program(0, _Weights, _Stack, Acc) ->
    iolist_to_binary(lists:reverse(Acc));
program(N, Weights, Stack, Acc) ->
    %% Constructors twice as often: operations then find terms of their type.
    Choices = ?OPS ++ [input, int64, atom, binary, string, tuple, list, cons, new_map, map_put,
                       map_from, t2b],
    Op = lists:nth(rand:uniform(length(Choices)), Choices),
    case op(Op, Weights, Stack) of
        skip -> program(N, Weights, Stack, Acc);
        {Bytes, Stack1} -> program(N - 1, Weights, Stack1, [Bytes | Acc])
    end.

%% The bytes of Op and the stack of weights after it, or skip when it
%% does not fit the stack.
op(Op, Weights, Stack) ->
    Depth = length(Stack),
    Pops = pops(Op),
    if
        Pops > Depth -> skip;
        Depth >= ?MAX_DEPTH, Pops =:= 0 -> skip;
        true -> encode(Op, Weights, Stack)
    end.

pops(Op) ->
    case Op of
        _ when Op =:= map_put; Op =:= map_update -> 3;
        _ when Op =:= cons; Op =:= map_get; Op =:= map_remove; Op =:= compare;
               Op =:= identical -> 2;
        _ when Op =:= input; Op =:= int64; Op =:= double; Op =:= atom; Op =:= binary;
               Op =:= string; Op =:= new_map; Op =:= tuple; Op =:= list; Op =:= map_from;
               Op =:= dup; Op =:= existing_atom -> 0;
        _ -> 1
    end.

code(Op) ->
    length(lists:takewhile(fun(O) -> O =/= Op end, ?OPS)) + 1.

encode(input, Weights, Stack) ->
    I = rand:uniform(256) - 1,
    W = case Weights of [] -> 1; _ -> lists:nth(I rem length(Weights) + 1, Weights) end,
    {[code(input), I], [W | Stack]};
encode(int64, _, Stack) ->
    {[code(int64), <<(rand:uniform(1 bsl 64) - 1):64/little>>], [1 | Stack]};
encode(double, _, Stack) ->
    {[code(double), <<((rand:uniform() - 0.5) * 1.0e6):64/float-little>>], [1 | Stack]};
encode(Op, _, Stack) when Op =:= atom; Op =:= existing_atom ->
    Name = case {Op, rand:uniform(3)} of
               {existing_atom, 1} -> crypto:strong_rand_bytes(rand:uniform(6));
               _ -> atom_to_binary(lists:nth(rand:uniform(length(?VOCABULARY)), ?VOCABULARY), latin1)
           end,
    {[code(Op), byte_size(Name), Name], [1 | Stack]};
encode(Op, _, Stack) when Op =:= binary; Op =:= string ->
    Bytes = crypto:strong_rand_bytes(rand:uniform(20) - 1),
    {[code(Op), byte_size(Bytes), Bytes], [byte_size(Bytes) + 1 | Stack]};
encode(Op, _, Stack) when Op =:= tuple; Op =:= list ->
    N = rand:uniform(length(Stack) + 1) - 1,
    {Taken, Rest} = lists:split(N, Stack),
    within([code(Op), N], lists:sum(Taken) + N + 1, Rest);
encode(map_from, _, Stack) ->
    N = rand:uniform(length(Stack) div 2 + 1) - 1,
    {Taken, Rest} = lists:split(2 * N, Stack),
    within([code(map_from), N], lists:sum(Taken) + 2 * N + 1, Rest);
encode(sub, _, [_ | Rest]) ->
    {[code(sub), rand:uniform(8) - 1, rand:uniform(8) - 1], [1 | Rest]};
encode(dup, _, []) ->
    {[code(dup), 0], []};
encode(dup, _, Stack) ->
    I = rand:uniform(256) - 1,
    {[code(dup), I], [lists:nth(I rem length(Stack) + 1, Stack) | Stack]};
encode(drop, _, [_ | Rest]) ->
    {[code(drop)], Rest};
encode(Op, _, Stack) when Op =:= cons; Op =:= map_put; Op =:= map_update ->
    {Taken, Rest} = lists:split(pops(Op), Stack),
    within([code(Op)], lists:sum(Taken) + 3, Rest);
encode(Op, _, Stack) when Op =:= t2b; Op =:= iolist ->
    [W | Rest] = Stack,
    within([code(Op)], 10 * W, Rest);
encode(Op, _, Stack) ->
    {Taken, Rest} = lists:split(pops(Op), Stack),
    within([code(Op)], lists:max([1 | Taken]), Rest).

within(Bytes, Weight, Rest) when Weight =< ?MAX_WEIGHT -> {Bytes, [Weight | Rest]};
within(_, _, _) -> skip.

%%% ------------------------------------------------------------------
%%% The model: what each operation does, in Erlang
%%% ------------------------------------------------------------------

-define(FAILED, wasm_fuzz_failed).

%% The stack a program leaves, bottom first, as the interpreter returns it.
model(Program, Inputs) ->
    lists:reverse(model(Program, Inputs, [])).

model(<<>>, _, Stack) ->
    Stack;
model(<<Code, Rest/binary>>, Inputs, Stack) ->
    Op = lists:nth(Code, ?OPS),
    {Stack1, Rest1} = step(Op, Rest, Inputs, Stack),
    model(Rest1, Inputs, Stack1).

push(T, Stack) when length(Stack) < 64 -> [T | Stack];
push(_, Stack) -> Stack.

step(input, <<I, Rest/binary>>, Inputs, S) ->
    T = case Inputs of [] -> []; _ -> lists:nth(I rem length(Inputs) + 1, Inputs) end,
    {push(T, S), Rest};
step(int64, <<V:64/signed-little, Rest/binary>>, _, S) ->
    {push(V, S), Rest};
step(double, <<D:64/float-little, Rest/binary>>, _, S) ->
    {push(D, S), Rest};
step(atom, <<N, Name:N/binary, Rest/binary>>, _, S) ->
    {push(binary_to_atom(Name, latin1), S), Rest};
step(existing_atom, <<N, Name:N/binary, Rest/binary>>, _, S) ->
    {push(try binary_to_existing_atom(Name, latin1) catch error:badarg -> ?FAILED end, S), Rest};
step(binary, <<N, Bytes:N/binary, Rest/binary>>, _, S) ->
    {push(Bytes, S), Rest};
step(string, <<N, Bytes:N/binary, Rest/binary>>, _, S) ->
    {push(binary_to_list(Bytes), S), Rest};
step(tuple, <<N, Rest/binary>>, _, S) ->
    {Top, S1} = take(N, S),
    {push(list_to_tuple(Top), S1), Rest};
step(list, <<N, Rest/binary>>, _, S) ->
    {Top, S1} = take(N, S),
    {push(Top, S1), Rest};
step(map_from, <<N0, Rest/binary>>, _, S) ->
    N = min(N0, length(S) div 2),
    {Top, S1} = take(2 * N, S),
    {Keys, Values} = lists:split(N, Top),
    Map = maps:from_list(lists:zip(Keys, Values)),
    {push(case map_size(Map) of N -> Map; _ -> ?FAILED end, S1), Rest};
step(sub, <<Pos, Len, Rest/binary>>, _, S) ->
    {[B], S1} = take(1, S),
    T = case is_binary(B) andalso Pos + Len =< byte_size(B) of
            true -> binary:part(B, Pos, Len);
            false -> ?FAILED
        end,
    {push(T, S1), Rest};
step(dup, <<_, Rest/binary>>, _, []) ->
    {[], Rest};
step(dup, <<I, Rest/binary>>, _, S) ->
    {push(lists:nth(I rem length(S) + 1, S), S), Rest};
step(drop, Rest, _, S) ->
    {_, S1} = take(1, S),
    {S1, Rest};
step(Op, Rest, _, S) ->
    {Args, S1} = take(pops(Op), S),
    {push(apply_op(Op, Args), S1), Rest}.

%% The top N terms, bottom first, and the rest of the stack.
take(N0, S) ->
    N = min(N0, length(S)),
    {Top, Rest} = lists:split(N, S),
    {lists:reverse(Top), Rest}.

apply_op(cons, [H, T]) -> [H | T];
apply_op(new_map, []) -> #{};
apply_op(map_put, [M, K, V]) when is_map(M) -> M#{K => V};
apply_op(map_update, [M, K, V]) when is_map(M), is_map_key(K, M) -> M#{K := V};
apply_op(map_get, [M, K]) when is_map(M), is_map_key(K, M) -> maps:get(K, M);
apply_op(map_remove, [M, K]) when is_map(M) -> maps:remove(K, M);
apply_op(t2b, [T]) -> term_to_binary(T);
apply_op(b2t, [<<131, 80, _/binary>>]) -> ?FAILED;
apply_op(b2t, [B]) when is_binary(B), byte_size(B) =< 65536 ->
    try binary_to_term(B, [safe, used]) of
        {T, _Used} -> T
    catch
        error:badarg -> ?FAILED
    end;
apply_op(reverse, [L]) -> case proper(L) of true -> lists:reverse(L); false -> ?FAILED end;
apply_op(length, [L]) -> case proper(L) of true -> length(L); false -> ?FAILED end;
apply_op(compare, [A, B]) -> if A < B -> -1; A > B -> 1; true -> 0 end;
apply_op(identical, [A, B]) -> case A =:= B of true -> 1; false -> 0 end;
apply_op(type, [T]) -> type(T);
apply_op(iolist, [T]) -> try iolist_to_binary(T) catch error:_ -> ?FAILED end;
apply_op(get_int64, [I]) when is_integer(I), I >= -(1 bsl 63), I < 1 bsl 63 -> I;
apply_op(get_uint64, [I]) when is_integer(I), I >= 0, I < 1 bsl 64 -> I;
apply_op(get_double, [D]) when is_float(D) -> D;
apply_op(get_atom, [A]) when is_atom(A) ->
    try atom_to_binary(A, latin1) catch error:_ -> ?FAILED end;
apply_op(get_string, [L]) ->
    case proper(L) andalso lists:all(fun(C) -> is_integer(C) andalso C >= 0 andalso C =< 255 end, L) of
        true when length(L) =< 255 -> list_to_binary(L);
        _ -> ?FAILED
    end;
apply_op(get_tuple, [T]) when is_tuple(T), tuple_size(T) =< 16 -> tuple_to_list(T);
apply_op(cell, [[H | T]]) -> {H, T};
apply_op(map_size, [M]) when is_map(M) -> map_size(M);
apply_op(bin_size, [B]) when is_binary(B) -> byte_size(B);
apply_op(_, _) -> ?FAILED.

proper([]) -> true;
proper([_ | T]) -> proper(T);
proper(_) -> false.

type(T) when is_atom(T) -> 1;
type(T) when is_bitstring(T) -> 2;
type(T) when is_float(T) -> 3;
type(T) when is_function(T) -> 4;
type(T) when is_integer(T) -> 5;
type(T) when is_list(T) -> 6;
type(T) when is_map(T) -> 7;
type(T) when is_pid(T) -> 8;
type(T) when is_port(T) -> 9;
type(T) when is_reference(T) -> 10;
type(T) when is_tuple(T) -> 11.
