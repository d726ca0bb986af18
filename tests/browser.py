#!/usr/bin/env python3
"""The river page in a real browser: the daemon serves a store of known stories, headless
Chromium loads `/`, and the rendered DOM must show the stories newest first, every outlet's
link, the feed autodiscovery links, and no console errors (a CSP violation would be one).
A search (`/?q=`) shows only the stories it finds, with the search in its box, and the
"Older stories" link of a short page (`/?limit=2`) leads to the next stories in order.
Screenshots (desktop and phone widths) are saved as CI artefacts:
target/artifacts/river.png, river-phone.png, river-search.png and river-older.png.

usage: python3 tests/browser.py        (installs Debian's chromium when missing and root)"""
import html.parser, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_env import ROOT, river  # noqa: E402

ARTIFACTS = os.path.join(ROOT, "target", "artifacts")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
        return shutil.which("chromium")
    return None


def run_chromium(exe, args, url):
    profile = tempfile.mkdtemp(prefix="river-chromium-")
    try:
        r = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            *args, url], capture_output=True, text=True, timeout=120)
        return r.stdout, r.stderr
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class River(html.parser.HTMLParser):
    """Collects story headings, every link, and the alternate links of the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.titles, self.links, self.alternates, self.scripts = [], [], [], 0
        self.next, self.search = None, None
        self._h2 = None
        self.landmarks = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("header", "nav", "main", "footer"):
            self.landmarks.add(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "h2":
            self._h2 = ""
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
            if a.get("rel") == "next":
                self.next = a["href"]
        if tag == "input" and a.get("name") == "q":
            self.search = a.get("value", "")
        if tag == "link" and a.get("rel") == "alternate":
            self.alternates.append(a.get("type"))

    def handle_endtag(self, tag):
        if tag == "h2" and self._h2 is not None:
            self.titles.append(" ".join(self._h2.split()))
            self._h2 = None

    def handle_data(self, data):
        if self._h2 is not None:
            self._h2 += data


def main():
    exe = chromium()
    if not exe:
        print("browser: skipped (no chromium, and cannot install it here)")
        # On CI (TRIBUTARY_CI_STRICT, set by .ci/run) a check that could not run fails.
        sys.exit(1 if os.environ.get("TRIBUTARY_CI_STRICT") else 0)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with river() as (base, expected, _work):
        dom, log = run_chromium(exe, ["--dump-dom"], base + "/")
        shots = {}
        for name, size in (("river.png", "1280,1600"), ("river-phone.png", "390,1400")):
            path = os.path.join(ARTIFACTS, name)
            _, shot_log = run_chromium(exe, [f"--screenshot={path}", f"--window-size={size}"], base + "/")
            log += shot_log
            shots[name] = os.path.exists(path) and os.path.getsize(path) > 0
        # A search, then the first short page and the one its "Older stories" link opens.
        doms = {}
        short = River()
        for name, path in (("search", "/?q=harbour"), ("short", "/?limit=2"), ("older", None)):
            if path is None:
                path = "/" + (short.next or "").removeprefix("./")
            doms[name], more = run_chromium(exe, ["--dump-dom"], base + path)
            log += more
            if name == "short":
                short.feed(doms[name])
            if name != "short":
                shot = os.path.join(ARTIFACTS, f"river-{name}.png")
                _, more = run_chromium(exe, [f"--screenshot={shot}", "--window-size=1280,1000"], base + path)
                log += more
                shots[f"river-{name}.png"] = os.path.exists(shot) and os.path.getsize(shot) > 0
    page = River()
    page.feed(dom)
    problems = []
    found = River()
    found.feed(doms["search"])
    harbour = [s["title"] for s in expected if "harbour" in s["title"].lower()]
    if found.titles != harbour or found.search != "harbour":
        problems.append(f"the search for harbour shows {found.titles} (box: {found.search!r}), not {harbour}")
    older = River()
    older.feed(doms["older"])
    every = [s["title"] for s in expected]
    if short.titles != every[:2] or not short.next or older.titles != every[2:4]:
        problems.append(f"pages by two: {short.titles}, then via {short.next!r} {older.titles}; "
                        f"not {every[:2]} then {every[2:4]}")
    want = [s["title"] for s in expected]
    if page.titles != want:
        problems.append(f"stories on the page {page.titles} are not {want}")
    for s in expected:
        for c in s["copies"]:
            if c["url"] not in page.links:
                problems.append(f"no link to {c['outlet']}'s copy {c['url']}")
    for t in ("application/atom+xml", "application/rss+xml", "application/feed+json"):
        if t not in page.alternates:
            problems.append(f"no <link rel=alternate type={t}>")
    if page.scripts:
        problems.append(f"{page.scripts} <script> elements in the DOM")
    missing = {"header", "nav", "main", "footer"} - page.landmarks
    if missing:
        problems.append(f"landmarks missing: {sorted(missing)}")
    console = [l for l in log.splitlines() if "CONSOLE" in l or "Content Security Policy" in l]
    if console:
        problems.append("console messages: " + " | ".join(console[:5]))
    for name, ok in shots.items():
        if not ok:
            problems.append(f"no screenshot {name}")
    if problems:
        print("browser: FAILED\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"browser: {len(want)} stories in order, {sum(len(s['copies']) for s in expected)} outlet links, "
          f"feeds advertised, a search, older stories, no console errors; screenshots in {ARTIFACTS}: ok")


if __name__ == "__main__":
    main()
