"""Time the Python Shapley peers on the games our benches use (same formulas).

Usage: python peers.py OUT_DIR [sections...]; sections: coopgame, numba, pydvl-exact N,
pydvl-mc. OUT_DIR holds exact_voting_{100,1000}.txt written by
`cargo run --release --example shapley_peers -- OUT_DIR` (for accuracy).
"""

import sys
import time

import numpy as np


def table(n):
    s = np.arange(1 << n, dtype=np.uint64)
    v = ((s * np.uint64(2654435761)) % np.uint64(1000)).astype(np.float64)
    v[0] = 0.0
    return v


def voting(n):
    w = np.array([1 + (37 * i + 11) % 10 for i in range(n)], dtype=np.int64)
    return w, int(w.sum() // 2 + 1)


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def timed(f, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_coopgame(out):
    import coopgame

    for n in (18, 20, 22):
        v = table(n)
        g = coopgame.Game(list(v[1:]), order="binary")
        dt, _ = timed(lambda: coopgame.shapley(g))
        print(f"coopgame exact_explicit n={n}: {dt:.4f} s", flush=True)
    for n, perms in ((100, 2000), (1000, 200)):
        w, q = voting(n)
        wl = [int(x) for x in w]
        fg = coopgame.FunctionGame(n, lambda s: float(sum(wl[i] for i in s) >= q))
        dt, res = timed(lambda: coopgame.shapley_sampling(fg, perms, seed=0), repeat=1)
        exact = np.loadtxt(f"{out}/exact_voting_{n}.txt")
        vals = res["values"] if isinstance(res, dict) else res[0]
        print(
            f"coopgame monte_carlo n={n} perms={perms}: {dt:.4f} s, "
            f"{perms * n / dt / 1e6:.3f} M marginals/s, rmse {rmse(vals, exact):.3e}",
            flush=True,
        )


def numba_table_class():
    """shapley-numba's game class for an explicit table (bit i of the index = player i)."""
    import numba
    from shapley_numba import numba_game

    @numba_game([("table", numba.float64[:])])
    class Table:
        def __init__(self, table):
            self.table = table

        def value(self, subset):
            key = 0
            for i in range(len(subset)):
                key += subset[i] << i
            return self.table[key]

    return Table


def run_numba(out):
    import numba
    from shapley_numba import numba_game
    from shapley_numba.shapley import shapley, shapley_perm_mc

    Table = numba_table_class()

    @numba_game([("weights", numba.int64[:]), ("quota", numba.int64)])
    class Voting:
        def __init__(self, weights, quota):
            self.weights = weights
            self.quota = quota

        def value(self, subset):
            return 1.0 if np.sum(subset * self.weights) >= self.quota else 0.0

    shapley(Table(table(4)), 4)  # compile
    for n in (18, 20, 22):
        g = Table(table(n))
        dt, _ = timed(lambda: shapley(g, n))
        print(f"shapley-numba exact_explicit n={n}: {dt:.4f} s", flush=True)
    w, q = voting(10)
    shapley_perm_mc(Voting(w, q), 10, paths=10, anthithetic=False)  # compile
    shapley_perm_mc(Voting(w, q), 10, paths=10, anthithetic=True)
    for n, perms in ((100, 20000), (1000, 2000)):
        w, q = voting(n)
        g = Voting(w, q)
        exact = np.loadtxt(f"{out}/exact_voting_{n}.txt")
        for anti in (False, True):
            errs, best = [], float("inf")
            for seed in range(5):
                t = time.perf_counter()
                vals = shapley_perm_mc(g, n, paths=perms, seed=seed, anthithetic=anti)
                best = min(best, time.perf_counter() - t)
                errs.append(rmse(vals, exact))
            print(
                f"shapley-numba monte_carlo n={n} perms={perms} antithetic={anti}: "
                f"{best:.4f} s, {perms * n / best / 1e6:.3f} M marginals/s, "
                f"rmse {np.mean(errs):.3e} (mean of 5 seeds)",
                flush=True,
            )


def pydvl_game(n, score):
    from pydvl.valuation.games import Game

    class G(Game):
        def __init__(self):
            super().__init__(n, score_range=(0.0, 1000.0))

        def _score(self, X):
            return score(X[:, 0])

    return G()


def run_pydvl_exact(n):
    from pydvl.valuation import DeterministicUniformSampler, NoStopping, ShapleyValuation
    from joblib import parallel_config

    v = table(n)
    g = pydvl_game(n, lambda idx: float(v[int(np.sum(np.left_shift(1, idx.astype(np.int64))))]))
    sampler = DeterministicUniformSampler()
    val = ShapleyValuation(g.u, sampler, NoStopping(sampler), progress=False)
    t = time.perf_counter()
    with parallel_config(n_jobs=2):
        val.fit(g.data)
    print(f"pydvl exact_explicit n={n}: {time.perf_counter() - t:.2f} s", flush=True)


def run_pydvl_mc(out):
    from pydvl.valuation import MaxSamples, PermutationSampler, ShapleyValuation
    from joblib import parallel_config

    for n, perms in ((100, 100),):
        w, q = voting(n)
        g = pydvl_game(n, lambda idx: float(w[idx].sum() >= q))
        sampler = PermutationSampler(seed=0)
        val = ShapleyValuation(g.u, sampler, MaxSamples(sampler, perms), progress=False)
        t = time.perf_counter()
        with parallel_config(n_jobs=2):
            val.fit(g.data)
        dt = time.perf_counter() - t
        exact = np.loadtxt(f"{out}/exact_voting_{n}.txt")
        vals = val.result.values
        print(
            f"pydvl monte_carlo n={n} perms={perms}: {dt:.3f} s, "
            f"{perms * n / dt / 1e6:.4f} M marginals/s, rmse {rmse(vals, exact):.3e}",
            flush=True,
        )


if __name__ == "__main__":
    out = sys.argv[1]
    args = sys.argv[2:]
    i = 0
    while i < len(args):
        a = args[i]
        if a == "coopgame":
            run_coopgame(out)
        elif a == "numba":
            run_numba(out)
        elif a == "pydvl-exact":
            i += 1
            run_pydvl_exact(int(args[i]))
        elif a == "pydvl-mc":
            run_pydvl_mc(out)
        i += 1
