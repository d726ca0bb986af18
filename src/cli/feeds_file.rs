//! Edits of feeds.toml that keep the operator's comments, order and layout (toml_edit),
//! made atomically (temp file, fsync, rename) under an exclusive lock, so two concurrent
//! `feeds add` both land and a crash never leaves half a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use crate::config::{Config, normalize_feed_url};

/// A feed to append to the file.
#[derive(Debug, Clone)]
pub struct NewFeed {
    /// Unique name.
    pub name: String,
    /// The feed's URL.
    pub url: url::Url,
    /// Tags.
    pub tags: Vec<String>,
    /// Its own cron schedule, if any.
    pub schedule: Option<String>,
}

/// The config file held open under its lock: read it, change it, [`LockedFile::save`] it.
pub struct LockedFile {
    path: PathBuf,
    _lock: File,
    /// The document as read (comments and layout included).
    pub doc: DocumentMut,
}

impl LockedFile {
    /// Locks and reads `path`; a missing file reads as empty (the first `feeds add` creates it).
    pub fn open(path: &Path) -> Result<LockedFile> {
        let lock_path = lock_path(path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot create the lock file {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            anyhow::anyhow!("{}: {}", path.display(), e.message().trim())
        })?;
        Ok(LockedFile {
            path: path.to_path_buf(),
            _lock: lock,
            doc,
        })
    }

    /// The config as the file reads now (validated).
    pub fn config(&self) -> Result<Config> {
        Ok(Config::parse(&self.doc.to_string(), &self.path)?)
    }

    /// Appends a `[[feeds]]` entry, refusing a name or URL already present.
    pub fn add(&mut self, feed: &NewFeed) -> Result<()> {
        let config = self.config()?;
        if config.feeds.iter().any(|f| f.name() == feed.name) {
            bail!(
                "a feed named {:?} is already in {}",
                feed.name,
                self.path.display()
            );
        }
        let key = normalize_feed_url(&feed.url);
        if let Some(f) = config
            .feeds
            .iter()
            .find(|f| normalize_feed_url(f.url()) == key)
        {
            bail!(
                "{} is already in {} as {:?}",
                feed.url,
                self.path.display(),
                f.name()
            );
        }
        let mut table = Table::new();
        table.insert("name", value(feed.name.as_str()));
        table.insert("url", value(feed.url.as_str()));
        if !feed.tags.is_empty() {
            table.insert(
                "tags",
                value(feed.tags.iter().map(String::as_str).collect::<Array>()),
            );
        }
        if let Some(s) = &feed.schedule {
            table.insert("schedule", value(s.as_str()));
        }
        table.decor_mut().set_prefix("\n");
        match self.doc.get_mut("feeds") {
            Some(Item::ArrayOfTables(list)) => list.push(table),
            Some(_) => bail!(
                "{}: key `feeds` must be a list of [[feeds]] tables",
                self.path.display()
            ),
            None => {
                let mut list = ArrayOfTables::new();
                list.push(table);
                self.doc.insert("feeds", Item::ArrayOfTables(list));
            }
        }
        Ok(())
    }

    /// Removes the entry whose name or URL is `feed`; returns its name.
    pub fn remove(&mut self, feed: &str) -> Result<String> {
        let config = self.config()?;
        let Some(found) = config.find_feed(feed) else {
            bail!("no feed named {feed:?} in {}", self.path.display());
        };
        let name = found.name().to_string();
        let index = config
            .feeds
            .iter()
            .position(|f| f.name() == name)
            .unwrap_or(0);
        if let Some(Item::ArrayOfTables(list)) = self.doc.get_mut("feeds") {
            list.remove(index);
        }
        Ok(name)
    }

    /// Validates the edited document and replaces the file with it atomically.
    pub fn save(&self) -> Result<()> {
        let text = self.doc.to_string();
        Config::parse(&text, &self.path)?;
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            self.path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("feeds.toml"),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            File::open(dir)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", self.path.display())
        })
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}
