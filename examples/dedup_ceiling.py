#!/usr/bin/env python3
"""How much recall the text of a labelled set allows at all: the recall an oracle would reach
that merged exactly the pairs of copies sharing at least k quote-stripped shingles (and no
pair of different stories), with single linkage, beside what the rules reach and how many
pairs of different stories share as much. Over the pair files that `dedup-eval --pairs`
writes (every pair's evidence as the pipeline computes it).

    cargo run --release --example dedup-eval -- SET.json --mode lede --pairs /tmp/SET-lede.jsonl
    python3 examples/dedup_ceiling.py /tmp/SET-lede.jsonl [more.jsonl ...]

Why: on 45-word descriptions a target recall can lie above what any rule on their words
could reach with precision; this prints that bound instead of leaving it to be guessed.
"""
import json, sys

WINDOW_HOURS = 72  # policy::DedupConfig's default window
KS = (1, 2, 3, 4, 6, 10)


def linked_share(rows, keep):
    """Share of the pairs of copies joined by single linkage over the pairs `keep` accepts."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in rows:
        if keep(r):
            parent[find(r["a"])] = find(r["b"])
    copies = [r for r in rows if r["same"]]
    return sum(find(r["a"]) == find(r["b"]) for r in copies) / max(len(copies), 1)


def main():
    files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    print("set | pairs of copies | rules | " + " | ".join(f"oracle k>={k}" for k in KS)
          + " | different-story pairs with k>=" + ",".join(map(str, KS)))
    for path in files:
        rows = [json.loads(line) for line in open(path)]
        near = [r for r in rows if r["hours"] <= WINDOW_HOURS]
        rules = linked_share(rows, lambda r: r["merge_ab"] or r["merge_ba"])
        oracle = [linked_share(rows, lambda r, k=k: r["same"] and r["hours"] <= WINDOW_HOURS
                               and r["shared"] >= k) for k in KS]
        others = [sum(1 for r in near if not r["same"] and not r["soft"] and r["shared"] >= k)
                  for k in KS]
        copies = sum(r["same"] for r in rows)
        print(f"{path} | {copies} | {rules:.3f} | " + " | ".join(f"{o:.3f}" for o in oracle)
              + " | " + ",".join(map(str, others)))


if __name__ == "__main__":
    main()
