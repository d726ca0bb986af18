//! The sources CLI, run as a user runs it: `feeds add | remove | list | import | export`,
//! `check`, against temp folders and a local HTTP server.

mod support;

use support::{TestServer, Workspace, html, rss, typed};

const COMMENTED: &str = "# My sources — hand-curated, do not reorder\n\n[fetch]\nper_host = 1  # be gentle\n\n# Wire services first\n[[feeds]]\nname = \"Wire\"  # the wire itself\nurl = \"https://wire.example/rss\"\ntags = [\"wire\"]\n\n# Regional outlets\n[[feeds]]\nname = \"Regional\"\nurl = \"https://regional.example/rss\"\n";

fn list_json(ws: &Workspace) -> Vec<serde_json::Value> {
    let (code, out, err) = ws.run(&["feeds", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn add_list_export_remove_import_round_trip() {
    let ws = Workspace::with_config("");
    for (name, url, tag) in [
        ("Alpha", "https://alpha.example/rss", "world"),
        ("Beta", "https://beta.example/atom", "asia"),
    ] {
        let (code, _, err) = ws.run(&[
            "feeds",
            "add",
            url,
            "--name",
            name,
            "--tag",
            tag,
            "--no-check",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    let listed = list_json(&ws);
    assert_eq!(listed.len(), 2);
    let alpha = listed.iter().find(|f| f["name"] == "Alpha").unwrap();
    assert_eq!(alpha["url"], "https://alpha.example/rss");
    assert_eq!(alpha["tags"], serde_json::json!(["world"]));
    for key in [
        "last_status",
        "last_error",
        "error_count",
        "next_fetch",
        "articles",
    ] {
        assert!(alpha.get(key).is_some(), "feeds list --json lacks {key}");
    }

    let (code, opml, _) = ws.run(&["feeds", "export"]);
    assert_eq!(code, 0);
    assert!(opml.contains("<opml version=\"2.0\">"));

    let (code, _, err) = ws.run(&["feeds", "remove", "Alpha"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(list_json(&ws).len(), 1);

    let other = Workspace::with_config("");
    std::fs::write(other.dir.path().join("subs.opml"), &opml).unwrap();
    let (code, out, err) = other.run(&[
        "feeds",
        "import",
        other.dir.path().join("subs.opml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("imported 2"), "{out}");
    let back = list_json(&other);
    assert_eq!(back.len(), 2);
    let beta = back.iter().find(|f| f["name"] == "Beta").unwrap();
    assert_eq!(beta["tags"], serde_json::json!(["asia"]));

    // Importing the same file again adds nothing and says so.
    let (code, out, _) = other.run(&[
        "feeds",
        "import",
        other.dir.path().join("subs.opml").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("imported 0") && out.contains("skipped 2"),
        "{out}"
    );
}

#[test]
fn comments_and_layout_survive_add_and_remove() {
    let ws = Workspace::with_config(COMMENTED);
    let (code, _, err) = ws.run(&[
        "feeds",
        "add",
        "https://third.example/feed",
        "--name",
        "Third",
        "--no-check",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = ws.run(&["feeds", "remove", "Third"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ws.config_text(), COMMENTED);

    let (code, _, err) = ws.run(&["feeds", "remove", "https://regional.example/rss"]);
    assert_eq!(code, 0, "{err}");
    let text = ws.config_text();
    for kept in [
        "# My sources — hand-curated",
        "per_host = 1  # be gentle",
        "# Wire services first",
        "name = \"Wire\"  # the wire itself",
    ] {
        assert!(text.contains(kept), "lost {kept:?}:\n{text}");
    }
    assert!(!text.contains("regional.example"));
}

#[test]
fn duplicate_urls_and_names_are_refused() {
    let ws = Workspace::with_config(COMMENTED);
    for url in [
        "HTTPS://WIRE.example:443/rss",
        "https://wire.example/rss/",
        "https://wire.example/rss",
    ] {
        let (code, _, err) = ws.run(&["feeds", "add", url, "--name", "Other", "--no-check"]);
        assert_eq!(code, 2, "{url} was accepted");
        assert!(err.contains("already"), "{err}");
    }
    let (code, _, err) = ws.run(&[
        "feeds",
        "add",
        "https://new.example/rss",
        "--name",
        "Wire",
        "--no-check",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("already"), "{err}");
    assert_eq!(ws.config_text(), COMMENTED);
}

#[test]
fn bad_configs_exit_2_naming_file_line_and_key() {
    let cases = [
        ("[fetch]\nshedule = \"*/5 * * * *\"\n", 2, "shedule"),
        (
            "[[feeds]]\nname = \"A\"\nurl = \"not a url\"\n",
            3,
            "feeds.url",
        ),
        (
            "[[feeds]]\nname = \"A\"\nurl = \"https://a.example/\"\nschedule = \"*/15 * *\"\n",
            4,
            "feeds.schedule",
        ),
        (
            "[storage]\nretention = \"forever\"\n",
            2,
            "storage.retention",
        ),
        ("[fetch]\nmax_body = \"lots\"\n", 2, "fetch.max_body"),
        (
            "[[feeds]]\nname = \"A\"\nurl = \"https://a.example/\"\n\n[[feeds]]\nname = \"A\"\nurl = \"https://b.example/\"\n",
            6,
            "feeds.name",
        ),
        (
            "[[feeds]]\nname = \"A\"\nurl = \"https://a.example/x\"\n\n[[feeds]]\nname = \"B\"\nurl = \"https://A.EXAMPLE/x/\"\n",
            7,
            "feeds.url",
        ),
        ("[server\nlisten = 1\n", 1, ""),
    ];
    for (text, line, key) in cases {
        let ws = Workspace::with_config(text);
        for args in [&["check"][..], &["feeds", "list"][..]] {
            let (code, _, err) = ws.run(args);
            assert_eq!(code, 2, "{text:?}: {err}");
            let place = format!("feeds.toml:{line}");
            assert!(
                err.contains(&place) && err.contains(key),
                "{text:?} → {err}"
            );
            assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let out = assert_cmd::Command::cargo_bin("tributary")
        .unwrap()
        .args(["--config", "/nonexistent/feeds.toml", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/feeds.toml"));
}

#[test]
fn concurrent_adds_all_land() {
    let ws = Workspace::with_config(COMMENTED);
    let spawned: Vec<_> = (0..16)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("tributary"))
                .arg("--config")
                .arg(ws.config())
                .args([
                    "feeds",
                    "add",
                    &format!("https://racer{i}.example/rss"),
                    "--name",
                    &format!("Racer {i}"),
                    "--no-check",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in spawned {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = ws.config_text();
    for i in 0..16 {
        assert!(
            text.contains(&format!("https://racer{i}.example/rss")),
            "racer {i} lost:\n{text}"
        );
    }
    assert!(text.starts_with("# My sources"));
    assert_eq!(ws.run(&["check"]).0, 0);
}

#[test]
fn add_follows_an_html_page_to_the_feed_it_advertises() {
    let page = r#"<!doctype html><html><head><title>Local News</title>
        <link rel="alternate" type="application/rss+xml" title="RSS" href="/feeds/main.xml">
        </head><body>hello</body></html>"#;
    let server = TestServer::start();
    server.route("/", html(page.to_string()));
    server.route(
        "/feeds/main.xml",
        typed(
            "application/rss+xml",
            rss("Local News Daily", "local", 3, "").into_bytes(),
        ),
    );
    let base = server.base.clone();
    let ws = Workspace::with_config("");
    let (code, out, err) = ws.run(&["feeds", "add", &format!("{base}/"), "--tag", "local"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Local News Daily") && out.contains("3 entries"),
        "{out}"
    );
    let listed = list_json(&ws);
    assert_eq!(listed[0]["url"], format!("{base}/feeds/main.xml"));
    assert_eq!(listed[0]["name"], "Local News Daily");

    // A page that advertises nothing, and a dead URL: exit 1, nothing added.
    let bare = TestServer::start();
    bare.route("/", html("<html><body>no feeds</body></html>".into()));
    let bare = bare.base;
    let (code, _, err) = ws.run(&["feeds", "add", &format!("{bare}/")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("advertises no feed"), "{err}");
    let (code, _, _) = ws.run(&["feeds", "add", &format!("{bare}/missing.xml")]);
    assert_eq!(code, 1);
    assert_eq!(list_json(&ws).len(), 1);
}

#[test]
fn opml_exports_of_other_readers_import() {
    let exports = [
        // Miniflux
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Miniflux</title><dateCreated>Sat, 28 Nov 2026 08:00:00 UTC</dateCreated></head><body>
<outline text="World"><outline title="Dawn" text="Dawn" xmlUrl="https://www.dawn.com/feeds/home" htmlUrl="https://www.dawn.com" type="rss"></outline></outline>
</body></opml>"#,
        // FreshRSS
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml xmlns:frss="https://freshrss.org/opml" version="2.0"><head><title>FreshRSS</title></head><body>
<outline text="News"><outline text="NPR" type="rss" xmlUrl="https://feeds.npr.org/1004/rss.xml" htmlUrl="https://www.npr.org/" description="NPR" frss:cssFullContent=""/></outline>
</body></opml>"#,
        // Feedly (category attribute, no version quirks)
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>Feedly</title></head><body>
<outline text="tech" title="tech"><outline type="rss" text="Ars" title="Ars Technica" xmlUrl="https://feeds.arstechnica.com/arstechnica/index" htmlUrl="https://arstechnica.com"/></outline>
</body></opml>"#,
        // NetNewsWire (no folders, odd spacing, entity)
        r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.1">
	<head><title>Subscriptions-OnMyMac.opml</title></head>
<body>
	<outline text="Daring Fireball &amp; co" title="Daring Fireball &amp; co" description="" type="rss" version="RSS" htmlUrl="https://daringfireball.net/" xmlUrl="https://daringfireball.net/feeds/main"/>
</body>
</opml>"#,
    ];
    let ws = Workspace::with_config("");
    for (i, doc) in exports.iter().enumerate() {
        let path = ws.dir.path().join(format!("{i}.opml"));
        std::fs::write(&path, doc).unwrap();
        let (code, out, err) = ws.run(&["feeds", "import", path.to_str().unwrap()]);
        assert_eq!(code, 0, "export {i}: {err}");
        assert!(out.contains("imported 1"), "export {i}: {out}");
    }
    let listed = list_json(&ws);
    assert_eq!(listed.len(), 4);
    let dawn = listed.iter().find(|f| f["name"] == "Dawn").unwrap();
    assert_eq!(dawn["tags"], serde_json::json!(["World"]));
    assert!(listed.iter().any(|f| f["name"] == "Daring Fireball & co"));
}

/// The OPML files of three feed readers' and validators' test suites (`tests/data/opml`, 46
/// files, clean and broken): each imports into a config that passes `check`, or is
/// refused with one line naming the file; none panics.
#[test]
fn every_opml_test_file_imports_or_fails_clearly() {
    let files_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/opml");
    let mut files = Vec::new();
    let mut stack = vec![files_root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("opml"))
            {
                files.push(p);
            }
        }
    }
    assert_eq!(files.len(), 46, "tests/data/opml holds 46 OPML files");
    let (mut ok, mut refused) = (0, 0);
    let mut imported_feeds = std::collections::BTreeMap::new();
    for file in &files {
        let ws = Workspace::with_config("");
        let (code, _, err) = ws.run(&["feeds", "import", file.to_str().unwrap()]);
        assert!(!err.contains("panicked"), "{}: {err}", file.display());
        match code {
            0 => {
                ok += 1;
                let name = file.strip_prefix(&files_root).unwrap();
                imported_feeds.insert(name.to_str().unwrap().to_string(), list_json(&ws).len());
                assert_eq!(
                    ws.run(&["check"]).0,
                    0,
                    "{} imported into a config that fails check",
                    file.display()
                );
            }
            2 => {
                refused += 1;
                assert_eq!(err.trim().lines().count(), 1, "{}: {err}", file.display());
                assert!(
                    err.contains(file.file_name().unwrap().to_str().unwrap()),
                    "{err}"
                );
            }
            other => panic!("{}: exit {other}: {err}", file.display()),
        }
    }
    println!(
        "{} OPML files: {ok} imported, {refused} refused with a clear error",
        files.len()
    );
    // The subscription lists among them bring their feeds (the rest are outline documents
    // with no feed in them, or broken ones).
    for (list, feeds) in [
        ("feedvalidator/clean/subscriptionList.opml", 13),
        ("newsboat/example.opml", 7),
        ("netnewswire/Subs.opml", 206),
    ] {
        assert_eq!(imported_feeds.get(list), Some(&feeds), "{list}");
    }
    assert_eq!(refused, 3, "the documents that are not OPML at all");
}
