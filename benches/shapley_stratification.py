"""Variance of position-stratified against plain permutation sampling, exactly, on the
100-player voting game of the benchmarks (docs/SHAPLEY.md, "Why these, by measurement").

For player i at position k (k others before it, uniformly chosen), p_k is the probability
that i swings the coalition; phi_i is the mean of p_k over k. Plain sampling draws one
marginal per permutation: variance phi (1 - phi) per sample. Stratified sampling with equal
samples per position (Maleki et al. 2013; Castro et al. 2017): mean over k of p_k (1 - p_k).
Counts by dynamic programming over (size, weight) in exact integers. Plain Python.

Usage: python3 benches/shapley_stratification.py
"""

from math import comb

n = 100
w = [1 + (37 * i + 11) % 10 for i in range(n)]
q = sum(w) // 2 + 1
for wi in sorted(set(w)):
    others = list(w)
    others.remove(wi)
    count = [[0] * q for _ in range(n)]  # coalitions of the others by size and weight < q
    count[0][0] = 1
    for x in others:
        for s in range(n - 2, -1, -1):
            row, up = count[s], count[s + 1]
            for v in range(q - 1 - x, -1, -1):
                if row[v]:
                    up[v + x] += row[v]
    p = [sum(count[s][max(0, q - wi):q]) / comb(n - 1, s) for s in range(n)]
    phi = sum(p) / n
    stratified = sum(pk * (1 - pk) for pk in p) / n
    print(f"weight {wi}: phi {phi:.5f}, stratified / plain variance {stratified / (phi * (1 - phi)):.3f}")
