#!/usr/bin/env python3
"""Leave one event out for the content rules' thresholds, over the pair files that
`dedup-eval --pairs` writes (every pair's evidence as the pipeline computes it).

For each event: the passage and figures thresholds are chosen on the other events (and the
real templated items) as the most permissive grid point with no false merge there, then
scored on the held-out event. Pairs are judged directly (no single linkage), so the figures
are a per-pair view of the rules in `src/dedup/verify.rs`, not the pipeline's stories.

    cargo run --release --example dedup-eval -- SET.json --mode full --pairs /tmp/p.jsonl
    python3 examples/dedup_loeo.py --pairs P.jsonl... --templated T.jsonl

`--by-set` holds out one pair file at a time instead of one event, and lets the long-passage
overlap (`LONG_PASSAGE_OC`) move too: whether a set collected later bounds the rule the
others chose.

The other thresholds are those of src/dedup/policy.rs, written out below; keep them in step.
"""
import json, sys


def merges(r, per_conflict, long_shared, long_oc=0.2, near_oc=0.18):
    """verify::compare for two copies of different outlets, with the figures, long-passage
    and near-in-time thresholds as parameters (the title rule for short texts, then the
    content rules); `near_oc` None leaves the near-in-time rule out."""
    if r["hours"] > 72:
        return False
    if min(r["wa"], r["wb"]) < 15:
        return r["same_title"] and r["hours"] <= 48
    nc, ns, n, oc = r["numconf"], r["numshared"], r["shared"], r["oc"]
    if nc > 0.5 * ns and n < per_conflict * nc:
        return False
    if n < 4:
        return False
    headline = (r["title"] >= 0.85 and r["title_n"] >= 5 and oc >= 0.08
                and (min(r["wa"], r["wb"]) <= 60 or n >= 10))
    near = near_oc is not None and r["hours"] <= 12 and oc >= near_oc and n >= 15
    return oc >= 0.3 or (oc >= 0.25 and n >= 15) or near or (oc >= long_oc and n >= long_shared) or headline


def main():
    pairs, templ = [], []
    target = pairs
    by_set = "--by-set" in sys.argv
    for a in sys.argv[1:]:
        if a == "--by-set":
            continue
        if a == "--pairs":
            target = pairs
        elif a == "--templated":
            target = templ
        else:
            target.append(a)
    rows = [dict(json.loads(l), file=p) for p in pairs for l in open(p)]
    # The copy of the rules must agree with the pipeline's verdicts on pairs of different
    # outlets (pairs of one site are judged by the same-outlet rule, not mirrored here).
    differ = sum(merges(r, 10, 40) != (r["merge_ab"] or r["merge_ba"]) for r in rows)
    print(f"{len(rows)} pairs; verify::compare and this copy of it disagree on {differ}")
    # A pair belongs to an event when both copies do; pairs across events only train.
    for r in rows:
        r["ev"] = r["event_a"] if r["event_a"] == r["event_b"] else None
    if by_set:
        return by_set_folds(rows, templ)
    across = [r for r in rows if r["ev"] is None]
    rows = [r for r in rows if r["ev"] is not None]
    guard = [json.loads(l) for p in templ for l in open(p)]
    grid_long, grid_conflict = [10, 15, 20, 25, 30, 35, 40, 50, 60, 80], [2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
    tp = fp = fn = 0
    for e in sorted({r["ev"] for r in rows}):
        train = [r for r in rows if r["ev"] != e] + across + guard
        test = [r for r in rows if r["ev"] == e]
        best = None
        for ls in grid_long:
            for pc in grid_conflict:
                if any(not r["same"] and not r["soft"] and merges(r, pc, ls) for r in train):
                    continue
                score = (sum(r["same"] and merges(r, pc, ls) for r in train), -ls, -pc)
                if best is None or score > best[0]:
                    best = (score, ls, pc)
        if best is None:
            print(f"{e}: no grid point merges nothing false without it")
            continue
        _, ls, pc = best
        t = sum(r["same"] and merges(r, pc, ls) for r in test)
        m = sum(r["same"] and not merges(r, pc, ls) for r in test)
        f = sum(not r["same"] and not r["soft"] and merges(r, pc, ls) for r in test)
        tp, fn, fp = tp + t, fn + m, fp + f
        print(f"{e}: chosen long passage {ls} shingles, {pc} shingles per conflict; held out: {t} merged, {m} missed, {f} false")
    print(f"pooled, pairs judged directly: P {tp / max(tp + fp, 1):.3f} R {tp / max(tp + fn, 1):.3f}")
    rows += across
    t = sum(r["same"] and merges(r, 10, 40) for r in rows)
    m = sum(r["same"] and not merges(r, 10, 40) for r in rows)
    f = sum(not r["same"] and not r["soft"] and merges(r, 10, 40) for r in rows)
    print(f"shipped (40, 10), in sample: P {t / max(t + f, 1):.3f} R {t / max(t + m, 1):.3f}")


def by_set_folds(rows, templ):
    """Leave one pair file out: the most permissive (overlap, shingles) long-passage point
    with no more false pairs in the other files than the shipped (0.2, 40) has there; then
    the most permissive overlap for the passage rule between copies published within hours
    with no more false pairs there than without that rule (0.25 on its grid: none)."""
    guard = [json.loads(l) for p in templ for l in open(p)]
    long_grid = [(o, s) for o in (0.12, 0.14, 0.15, 0.16, 0.17, 0.18, 0.19, 0.2) for s in (20, 25, 30, 35, 40, 50)]
    for held, (o, s), (t, f, copies), (t0, f0) in folds(
            rows, guard, long_grid, (0.2, 40), lambda r, p: merges(r, 10, p[1], p[0])):
        print(f"{held}: chosen overlap {o} with {s} shingles; held out: {t} of {copies} pairs merged, {f} false"
              f" (shipped: {t0} merged, {f0} false)")
    near_grid = [(o,) for o in (0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2, 0.25)]
    for held, (o,), (t, f, _), (t0, f0) in folds(
            rows, guard, near_grid, (0.25,), lambda r, p: merges(r, 10, 40, 0.2, p[0])):
        print(f"{held}: within 12 hours, chosen overlap {o}; held out: {t} merged, {f} false"
              f" (without the rule: {t0} merged, {f0} false)")


def folds(rows, guard, grid, baseline, rule):
    """Per pair file held out: the grid point (smallest values first among ties) that merges
    the most copies in the other files and the templated guard with no more false pairs
    there than `baseline`, with (merged, false, copies) on the held-out file under it and
    (merged, false) under `baseline`."""
    false = lambda rs, p: sum(not r["same"] and not r["soft"] and rule(r, p) for r in rs)
    merged = lambda rs, p: sum(r["same"] and rule(r, p) for r in rs)
    for held in sorted({r["file"] for r in rows}):
        train = [r for r in rows if r["file"] != held] + guard
        test = [r for r in rows if r["file"] == held]
        allowed = false(train, baseline)
        best = max((merged(train, p), tuple(-x for x in p)) for p in grid if false(train, p) <= allowed)[1]
        best = tuple(-x for x in best)
        copies = sum(r["same"] for r in test)
        yield (held, best, (merged(test, best), false(test, best), copies),
               (merged(test, baseline), false(test, baseline)))


if __name__ == "__main__":
    main()
