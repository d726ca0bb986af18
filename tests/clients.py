#!/usr/bin/env python3
"""Real feed readers subscribe to the merged feed: Python feedparser (Atom, RSS) and
newsboat (Atom, RSS) must each see every story exactly once, with no parse errors. A reader
that is not installed is skipped and said so.

usage: python3 tests/clients.py   (pip install feedparser; apt-get install newsboat)"""
import os, shutil, sqlite3, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_env import river  # noqa: E402

PATHS = ("/feed.atom", "/feed.rss")


def check_feedparser(base, expected, problems):
    try:
        import feedparser
    except ImportError:
        return "feedparser: skipped (pip install feedparser)"
    for path in PATHS:
        d = feedparser.parse(base + path)
        if d.bozo:
            problems.append(f"feedparser: {path} is malformed: {d.bozo_exception}")
        titles = [e.title for e in d.entries]
        ids = [e.id for e in d.entries]
        if titles != [s["title"] for s in expected] or len(set(ids)) != len(ids):
            problems.append(f"feedparser: {path} shows {titles}")
        for e, s in zip(d.entries, expected):
            others = [c["url"] for c in s["copies"][1:]]
            related = [l.href for l in e.get("links", []) if l.get("rel") == "related"]
            body = (e.get("content") or [{}])[0].get("value") or e.get("summary", "")
            if path.endswith("atom") and related != others:
                problems.append(f"feedparser: {path} entry {e.title!r} links {related}, not {others}")
            if any(u not in body for u in others):
                problems.append(f"feedparser: {path} entry {e.title!r} does not link every other outlet")
    return f"feedparser {feedparser.__version__}: {len(expected)} stories once each in Atom and RSS"


def check_newsboat(base, expected, problems):
    exe = shutil.which("newsboat")
    if not exe:
        return "newsboat: skipped (apt-get install newsboat)"
    work = tempfile.mkdtemp(prefix="newsboat-")
    try:
        for path in PATHS:
            urls, cache, conf = (os.path.join(work, n + path.replace("/", "_")) for n in ("urls", "cache", "conf"))
            open(urls, "w").write(base + path + "\n")
            open(conf, "w").write("")
            env = dict(os.environ, HOME=work, XDG_CONFIG_HOME=work, XDG_DATA_HOME=work)
            r = subprocess.run([exe, "-u", urls, "-c", cache, "-C", conf, "-x", "reload"],
                               capture_output=True, text=True, timeout=60, env=env)
            if r.returncode != 0:
                problems.append(f"newsboat: reload of {path} failed: {r.stderr.strip()[:300]}")
                continue
            db = sqlite3.connect(cache)
            rows = db.execute("SELECT title, guid FROM rss_item ORDER BY pubDate DESC").fetchall()
            db.close()
            titles = [t for t, _ in rows]
            if sorted(titles) != sorted(s["title"] for s in expected) or len({g for _, g in rows}) != len(rows):
                problems.append(f"newsboat: {path} stored {titles}")
        return f"newsboat: {len(expected)} stories once each in Atom and RSS"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    problems, said = [], []
    with river() as (base, expected, _work):
        said.append(check_feedparser(base, expected, problems))
        said.append(check_newsboat(base, expected, problems))
    for line in said:
        print("clients: " + line)
    # On CI (TRIBUTARY_CI_STRICT, set by .ci/run) a reader that could not run is a failure.
    if os.environ.get("TRIBUTARY_CI_STRICT") and any("skipped" in line for line in said):
        problems.append("a feed reader was skipped on CI: .ci/run installs them")
    if problems:
        print("clients: FAILED\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("clients: ok")


if __name__ == "__main__":
    main()
