"""Shared set-up for the browser and feed-reader checks: a config with three outlets, a
database seeded with known stories (examples/serve_fixture.rs), and the daemon serving it on
127.0.0.1. Standard library only."""
import contextlib, json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
# The outlets of the seeded store, in feeds.toml order (the sources page lists them so).
FEEDS = ["Alpha Wire", "Beta Post", "Gamma Times"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def build():
    """Builds the binary and the fixture example (debug: CI has already built its deps)."""
    subprocess.run(["cargo", "build", "--quiet", "--bin", "tributary", "--example", "serve_fixture"],
                   cwd=ROOT, check=True)
    return os.path.join(TARGET, "debug", "tributary"), os.path.join(TARGET, "debug", "examples", "serve_fixture")


def get(url, headers=None, timeout=10):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


@contextlib.contextmanager
def river():
    """Yields (base_url, expected stories newest first, work dir) with the daemon running."""
    exe, fixture = build()
    work = tempfile.mkdtemp(prefix="tributary-river-")
    port = free_port()
    dead = free_port()  # nothing listens here: the daemon's polls fail fast and harmlessly
    config = os.path.join(work, "feeds.toml")
    with open(config, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:{port}"\nbase_url = "http://127.0.0.1:{port}/"\n'
                f'title = "River check"\n\n[storage]\npath = "river.db"\n\n[fetch]\nschedule = "0 0 1 1 *"\n')
        for i, (name, tags) in enumerate(zip(FEEDS, ('["world"]', '["world", "business"]', '["science"]'))):
            f.write(f'\n[[feeds]]\nname = "{name}"\nurl = "http://127.0.0.1:{dead}/outlet{i}.xml"\ntags = {tags}\n')
    seeded = subprocess.run([fixture, "--config", config], capture_output=True, text=True, check=True)
    expected = json.loads(seeded.stdout)
    # The daemon; until `run` is built on this branch, the fixture serves the same routes.
    log = os.path.join(work, "daemon.log")
    proc = subprocess.Popen([exe, "--config", config, "run"], stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                if "not built yet" not in open(log).read():
                    sys.exit(f"the daemon exited early: {open(log).read()[-500:]}")
                print("serve_env: `run` is not built yet; serving with the fixture instead")
                proc = subprocess.Popen([fixture, "--config", config, "--no-seed", "--serve"],
                                        stdout=subprocess.DEVNULL, stderr=open(log, "w"))
            try:
                if get(base + "/", timeout=2)[0] == 200:
                    break
            except Exception:
                pass
            if time.time() > deadline:
                sys.exit("the daemon never answered on " + base)
            time.sleep(0.1)
        yield base, expected, work
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)
