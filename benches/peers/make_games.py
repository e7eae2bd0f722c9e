"""Write the game files of the whole-process benchmarks (docs/BENCHMARKS.md, "Shapley engine").

Usage: python3 make_games.py OUT_DIR

Same formulas as benches/shapley.rs, so the solver-only and whole-process figures are of the
same games:
- explicit_{20,22}.json: v(S) = ((S * 2654435761) mod 10^9) / 10^6 for the bitmask S, written
  as JSON numbers with up to 6 decimals (trailing zeros dropped), v(empty) = 0;
- mcnets_1m.json: 1,000,000 rules over 100,000 players, 1-3 `all` players and 0-1 `none`
  player each, value (k mod 17) - 5, from the linear congruential generator of the bench;
- voting_1000.json: w_i = 1 + (37 i + 11) mod 10, quota = floor(total / 2) + 1.
Plain Python, no dependencies.
"""

import json
import os
import sys


def decimal_worth(mask):
    r = (mask * 2654435761) % 10**9
    text = f"{r // 10**6}.{r % 10**6:06d}".rstrip("0").rstrip(".")
    return text if mask else "0"


def explicit(path, n):
    with open(path, "w") as f:
        names = ", ".join(f'"p{i}"' for i in range(n))
        f.write(f'{{"players": [{names}], "game": {{"type": "explicit", "values": [')
        f.write(", ".join(decimal_worth(s) for s in range(1 << n)))
        f.write("]}}\n")


def mc_nets(path, n, rules):
    mask = (1 << 64) - 1
    x = 12345

    def draw():
        nonlocal x
        x = (x * 6364136223846793005 + 1442695040888963407) & mask
        return x >> 33

    out = []
    for k in range(rules):
        a = 1 + draw() % 3
        m = draw() % 2
        all_ = [f"p{draw() % n}" for _ in range(a)]
        none = [f"p{draw() % n}" for _ in range(m)]
        out.append({"all": all_, "none": none, "value": k % 17 - 5})
    doc = {"players": [f"p{i}" for i in range(n)], "game": {"type": "mc_nets", "rules": out}}
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


def voting(path, n):
    w = [1 + (37 * i + 11) % 10 for i in range(n)]
    doc = {
        "players": [f"p{i}" for i in range(n)],
        "game": {"type": "weighted_voting", "weights": w, "quota": sum(w) // 2 + 1},
    }
    with open(path, "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    explicit(f"{out}/explicit_20.json", 20)
    explicit(f"{out}/explicit_22.json", 22)
    mc_nets(f"{out}/mcnets_1m.json", 100_000, 1_000_000)
    voting(f"{out}/voting_1000.json", 1000)
