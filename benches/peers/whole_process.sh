#!/bin/sh
# The whole-process figures of docs/BENCHMARKS.md ("Shapley engine"): fairshare and the
# Python peers on the same game files, in one hyperfine run per game (start, read the file,
# solve, print JSON). From the repository root, after `cargo build --release`:
#
#   python3 benches/peers/make_games.py GAMES
#   python3 -m venv PEERS && PEERS/bin/pip install coopgame-py==0.3.0 shapley-numba==0.1.5
#   sh benches/peers/whole_process.sh GAMES PEERS [BASELINE_BINARY]
#
# BASELINE_BINARY, when given, is an earlier fairshare build timed in the same runs.
set -eu
games=$1
venv=$2
baseline=${3:-}
ours=target/release/fairshare
for n in 20 22; do
    file=$games/explicit_$n.json
    set -- "$ours shapley --game $file --json" \
        "$venv/bin/python benches/peers/solve.py coopgame $file" \
        "$venv/bin/python benches/peers/solve.py numba $file"
    if [ -n "$baseline" ]; then set -- "$@" "$baseline shapley --game $file --json"; fi
    hyperfine -N --warmup 1 --runs 5 "$@"
done
for game in mcnets_1m voting_1000; do
    file=$games/$game.json
    set -- "$ours shapley --game $file --json"
    if [ -n "$baseline" ]; then set -- "$@" "$baseline shapley --game $file --json"; fi
    hyperfine -N --warmup 1 --runs 10 "$@"
done
