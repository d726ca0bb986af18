#!/usr/bin/env python3
"""The real sets through the CLI as `../shared/tools/real_dev.py` runs them, but with every
other document a description-only item (title + 45-word description) and the rest full
text: how descriptions merge with their full-text copies, the case of a reader whose
sources mix summary feeds and full-text feeds. Uses `../shared/tools` (make_case.py and its
harness) and the release binary.

    cargo build --release
    python3 examples/dedup_mixed.py [SET.json ...]   # default: the shared real-dev sets
"""
import json, os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "shared", "tools")
sys.path.insert(0, TOOLS)
from harness import Tributary, binary, pairs_score, serve_dir, url_key  # noqa: E402


def main():
    sets = sys.argv[1:] or [os.path.join(TOOLS, "..", "dedup", f) for f in ("real-dev.json", "real-dev2.json")]
    with tempfile.TemporaryDirectory(prefix="mixed-") as full, tempfile.TemporaryDirectory(prefix="mixed-lede-") as lede:
        run(sets, full, lede)


def run(sets, full, lede):
    docs = [d for f in sets for d in json.load(open(f))]
    json.dump(docs, open(os.path.join(full, "set.json"), "w"))
    for out, mode in ((full, "full"), (lede, "lede")):
        subprocess.run([sys.executable, os.path.join(TOOLS, "make_case.py"), os.path.join(full, "set.json"), out,
                        "--mode", mode], check=True)
    truth = json.load(open(os.path.join(full, "truth.json")))
    for i, f in enumerate(truth["feeds"]):
        if i % 2:
            shutil.copy(os.path.join(lede, f["file"]), os.path.join(full, f["file"]))
    with serve_dir(full) as base:
        t = Tributary(binary(os.path.join(HERE, "..")), [(f["name"], base + f["file"]) for f in truth["feeds"]])
        t.run("fetch", timeout=300)
        stories = t.stories()
    url_to_id = {url_key(f["url"]): f["id"] for f in truth["feeds"]}
    res = pairs_score(stories, url_to_id, truth["must"], set(truth["soft"]))
    for e in res["errors"]:
        print("  " + e)
    # Recall by what the two copies carry: both full text, one description, both descriptions.
    summary = {f["id"]: i % 2 for i, f in enumerate(truth["feeds"])}
    story_of = {url_to_id[url_key(u)]: n for n, urls in enumerate(stories) for u in urls if url_key(u) in url_to_id}
    kinds = {0: "full/full", 1: "description/full", 2: "description/description"}
    got = {k: [0, 0] for k in kinds}
    for group in truth["must"]:
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                k = summary[a] + summary[b]
                got[k][1] += 1
                got[k][0] += a in story_of and story_of.get(a) == story_of.get(b)
    print("  " + ", ".join(f"{kinds[k]} {m}/{n}" for k, (m, n) in got.items()))
    names = "+".join(os.path.basename(s) for s in sets)
    print(f"mixed {names}: P={res['precision']} R={res['recall']} tp={res['tp']} fp={res['fp']} fn={res['fn']}")


if __name__ == "__main__":
    main()
