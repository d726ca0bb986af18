#!/usr/bin/env python3
"""The river page in a real browser: the daemon serves a store of known stories, headless
Chromium loads `/`, and the rendered DOM must show the stories newest first, every outlet's
link, the feed autodiscovery links, and no console errors (a CSP violation would be one).
Then the newest story's page (`/story/{id}`, followed from the river's link: the headline
and every copy's link) and `/sources` (every feed). Screenshots of each page (desktop,
phone width, and desktop in dark mode) are saved as CI artefacts in target/artifacts:
river.png, river-phone.png, river-dark.png, story*.png, sources*.png. With VNU_JAR set to the
W3C Nu HTML Checker's jar (npm `vnu-jar`), the served pages must pass it with no error or
warning. A search (`/?q=harbour`) shows only the stories it finds, with the search in its
box, and the "Older stories" link of a short page (`/?limit=2`) leads to the next stories in
order (screenshots search*.png, older*.png).

usage: python3 tests/browser.py        (installs Debian's chromium when missing and root)"""
import html.parser, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_env import FEEDS, ROOT, get, river  # noqa: E402

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
        self._h1 = None
        self.h1 = []
        self.landmarks = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("header", "nav", "main", "footer"):
            self.landmarks.add(tag)
        if tag == "script":
            self.scripts += 1
        if tag == "h2":
            self._h2 = ""
        if tag == "h1":
            self._h1 = ""
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
        if tag == "h1" and self._h1 is not None:
            self.h1.append(" ".join(self._h1.split()))
            self._h1 = None

    def handle_data(self, data):
        if self._h2 is not None:
            self._h2 += data
        if self._h1 is not None:
            self._h1 += data


def nu_check(base, paths):
    """The Nu HTML Checker's messages on the served pages (empty when clean or not set up)."""
    jar = os.environ.get("VNU_JAR")
    if not jar:
        # On CI (TRIBUTARY_CI_STRICT) the checker is installed: missing, it is a failure.
        return "VNU_JAR is not set: the Nu HTML Checker did not run" if os.environ.get("TRIBUTARY_CI_STRICT") else ""
    folder = tempfile.mkdtemp(prefix="river-vnu-")
    try:
        files = []
        for i, path in enumerate(paths):
            files.append(os.path.join(folder, f"page{i}.html"))
            with open(files[-1], "wb") as f:
                f.write(get(base + path)[2])
        r = subprocess.run(["java", "-jar", jar, "--also-check-css", *files], capture_output=True, text=True)
        return (r.stdout + r.stderr).strip()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    exe = chromium()
    if not exe:
        print("browser: skipped (no chromium, and cannot install it here)")
        # On CI (TRIBUTARY_CI_STRICT, set by .ci/run) a check that could not run fails.
        sys.exit(1 if os.environ.get("TRIBUTARY_CI_STRICT") else 0)
    os.makedirs(ARTIFACTS, exist_ok=True)
    shots = {}

    def visit(url, name):
        """The rendered DOM of `url` and the browser's log; screenshots as `name`*.png."""
        dom, log = run_chromium(exe, ["--dump-dom"], url)
        for suffix, args in (("", ["--window-size=1280,1600"]), ("-phone", ["--window-size=390,1400"]),
                             ("-dark", ["--window-size=1280,1600", "--force-dark-mode",
                                        "--blink-settings=preferredColorScheme=0"])):
            path = os.path.join(ARTIFACTS, f"{name}{suffix}.png")
            _, shot_log = run_chromium(exe, [f"--screenshot={path}", *args], url)
            log += shot_log
            shots[f"{name}{suffix}.png"] = os.path.exists(path) and os.path.getsize(path) > 0
        return dom, log

    with river() as (base, expected, _work):
        dom, log = visit(base + "/", "river")
        page = River()
        page.feed(dom)
        story_links = [l for l in page.links if l.startswith("story/")]
        story = River()
        if story_links:
            story_dom, story_log = visit(f"{base}/{story_links[0]}", "story")
            story.feed(story_dom)
            log += story_log
        sources_dom, sources_log = visit(base + "/sources", "sources")
        sources = River()
        sources.feed(sources_dom)
        log += sources_log
        # A search, then the first short page and the one its "Older stories" link opens.
        found, short, older = River(), River(), River()
        found_dom, more = visit(base + "/?q=harbour", "search")
        found.feed(found_dom)
        log += more
        short_dom, more = run_chromium(exe, ["--dump-dom"], base + "/?limit=2")
        short.feed(short_dom)
        log += more
        older_path = "/" + (short.next or "").removeprefix("./")
        older_dom, more = visit(base + older_path, "older")
        older.feed(older_dom)
        log += more
        nu = nu_check(base, ["/", "/sources", *(f"/{l}" for l in story_links[:1]), "/?q=harbour", older_path])
    problems = []
    harbour = [s["title"] for s in expected if "harbour" in s["title"].lower()]
    if found.titles != harbour or found.search != "harbour":
        problems.append(f"the search for harbour shows {found.titles} (box: {found.search!r}), not {harbour}")
    every = [s["title"] for s in expected]
    if short.titles != every[:2] or not short.next or older.titles != every[2:4]:
        problems.append(f"pages by two: {short.titles}, then via {short.next!r} {older.titles}; "
                        f"not {every[:2]} then {every[2:4]}")
    if nu:
        problems.append("the Nu HTML Checker says: " + nu)
    if len(story_links) != len(expected):
        problems.append(f"{len(story_links)} links to story pages for {len(expected)} stories")
    elif story.h1 != [expected[0]["title"]]:
        problems.append(f"the story page's headline {story.h1} is not {expected[0]['title']!r}")
    for c in expected[0]["copies"] if story_links else []:
        if c["url"] not in story.links:
            problems.append(f"the story page has no link to {c['outlet']}'s copy {c['url']}")
    if sources.titles != FEEDS:
        problems.append(f"the sources page lists {sources.titles}, not {FEEDS}")
    for name, other in (("story", story), ("sources", sources)):
        if other.scripts:
            problems.append(f"{other.scripts} <script> elements on the {name} page")
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
          f"feeds advertised; the story page with every copy; the sources page with {len(FEEDS)} feeds; "
          f"a search; older stories; "
          f"no console errors; {len(shots)} screenshots in {ARTIFACTS}: ok")


if __name__ == "__main__":
    main()
