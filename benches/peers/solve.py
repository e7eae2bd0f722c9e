"""A Python peer solving a game file as a user would run it: start the interpreter, read the
JSON game file, solve exactly, print the values as JSON (whole-process benchmarks,
docs/BENCHMARKS.md).

Usage: python solve.py coopgame|numba GAME.json
Explicit tables only (the peers have no MC-nets or weighted voting solver for these files).
shapley-numba compiles its kernels on each start (no cache), as a fresh run of a user would.
"""

import json
import sys
import time


def read(path):
    with open(path) as f:
        doc = json.load(f)
    game = doc["game"]
    if game["type"] != "explicit":
        raise SystemExit(f"{path}: only explicit tables")
    return doc["players"], [float(v) for v in game["values"]]


def coopgame_values(n, values):
    import coopgame

    return list(coopgame.shapley(coopgame.Game(values[1:], order="binary")))


def numba_values(n, values):
    import numpy as np
    from shapley_numba.shapley import shapley

    from peers import numba_table_class

    Table = numba_table_class()
    return list(shapley(Table(np.asarray(values, dtype=np.float64)), n))


if __name__ == "__main__":
    peer, path = sys.argv[1], sys.argv[2]
    players, values = read(path)
    solve = {"coopgame": coopgame_values, "numba": numba_values}[peer]
    started = time.perf_counter()
    phi = solve(len(players), values)
    seconds = time.perf_counter() - started
    # The solve with its imports and JIT, without interpreter start and reading.
    print(f"{peer} solve with imports and JIT: {seconds:.4f} s", file=sys.stderr)
    print(json.dumps({"values": dict(zip(players, (float(x) for x in phi)))}))
