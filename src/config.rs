//! `feeds.toml`: the global settings and the list of sources (SPEC.md "feeds.toml").
//!
//! Reading is strict: an unknown key or a bad value is an error naming the file, the line
//! and the key, because a silently ignored typo (`shedule = ...`) would poll a feed on the
//! wrong schedule for months. Every key has a default, so a file holding only `[[feeds]]`
//! entries works. Writing (the CLI's edits) lives in `cli::feeds_file`, which keeps comments.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// Where the config is read from when neither `--config` nor `TRIBUTARY_CONFIG` says.
pub const DEFAULT_PATH: &str = "feeds.toml";

/// The whole configuration, with defaults filled in and relative paths resolved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[server]`: the HTTP listener and how the merged feed names itself.
    #[serde(default)]
    pub server: ServerConfig,
    /// `[storage]`: the database and retention.
    #[serde(default)]
    pub storage: StorageConfig,
    /// `[fetch]`: schedule and politeness limits.
    #[serde(default)]
    pub fetch: FetchConfig,
    /// `[dedup]`: how syndicated copies are merged.
    #[serde(default)]
    pub dedup: DedupConfig,
    /// `[[feeds]]`: the sources.
    #[serde(default)]
    pub feeds: Vec<FeedConfig>,
    /// The file this was read from (absolute when it could be made so).
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the daemon listens on; port 0 picks a free port.
    pub listen: String,
    /// Absolute URL the merged feed is reachable at, for self links.
    pub base_url: HttpUrl,
    /// Title of the merged feed.
    pub title: String,
    /// A WebSub hub: the merged feeds advertise it and the daemon tells it when they change.
    pub websub_hub: Option<HttpUrl>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            base_url: HttpUrl(url::Url::parse("http://127.0.0.1:8080/").expect("constant URL")),
            title: "World news, merged".into(),
            websub_hub: None,
        }
    }
}

impl ServerConfig {
    /// Without a `base_url` in the file, self links point at the address the daemon
    /// listens on (an operator who only changed `listen` would otherwise publish links to
    /// port 8080). A wildcard or port-0 address says nothing useful and keeps the default.
    fn default_base_url(&mut self, text: &str) {
        let given = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("server")?.get("base_url").cloned())
            .is_some();
        let Ok(addr) = self.listen.parse::<std::net::SocketAddr>() else {
            return;
        };
        if given || addr.ip().is_unspecified() || addr.port() == 0 {
            return;
        }
        if let Ok(u) = url::Url::parse(&format!("http://{addr}/")) {
            self.base_url = HttpUrl(u);
        }
    }
}

/// The environment variable that gives (or overrides) `[storage] url`: credentials need not
/// be written in feeds.toml.
pub const DATABASE_URL_ENV: &str = "TRIBUTARY_DATABASE_URL";

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The SQLite database; relative paths are relative to the config file. Unused when
    /// [`StorageConfig::url`] is set.
    pub path: PathBuf,
    /// A PostgreSQL database instead of the SQLite file (`postgres://user@host/db`).
    pub url: Option<Spanned<DatabaseUrl>>,
    /// Stories older than this are pruned.
    pub retention: HumanDuration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            path: "tributary.db".into(),
            url: None,
            retention: HumanDuration::days(90),
        }
    }
}

/// Where the store lives: what [`StorageConfig`] chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file (the default).
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(DatabaseUrl),
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl StorageConfig {
    /// The database the daemon and the commands open.
    pub fn location(&self) -> StoreLocation {
        match &self.url {
            Some(url) => StoreLocation::Postgres(url.get_ref().clone()),
            None => StoreLocation::Sqlite(self.path.clone()),
        }
    }
}

/// A PostgreSQL connection URL (`postgres://` or `postgresql://`). Its credentials are a
/// secret: `Display` and `Debug` leave them out, so logs, errors, `/metrics`, `/sources`
/// and `check` never show it; only [`DatabaseUrl::expose`] gives the URL to connect with.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(url::Url);

impl DatabaseUrl {
    /// The URL with its password, for the database client alone.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The URL without its credentials ([`public_url`]).
    pub fn redacted(&self) -> String {
        public_url(&self.0).to_string()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;
    /// The message never repeats the text: it may hold a password.
    fn from_str(s: &str) -> Result<Self, String> {
        let shape = "a PostgreSQL URL looks like postgres://user:password@host:5432/database";
        let u = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e}); {shape}"))?;
        match u.scheme() {
            "postgres" | "postgresql" if u.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(DatabaseUrl(u))
            }
            "postgres" | "postgresql" => Err(format!("the URL has no host; {shape}")),
            other => Err(format!(
                "only PostgreSQL URLs are supported, not `{other}:`; {shape}"
            )),
        }
    }
}

/// `[fetch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// Default poll schedule for feeds without their own.
    pub schedule: CronSchedule,
    /// Total time one request may take, body included.
    pub timeout: HumanDuration,
    /// Largest body accepted; a larger one is that feed's error.
    pub max_body: ByteSize,
    /// Requests in flight over all hosts.
    pub concurrency: usize,
    /// Requests in flight to one host.
    pub per_host: usize,
    /// The User-Agent header sent with every request.
    pub user_agent: String,
    /// Whether an item's article page is fetched for its full text (`[[feeds]]` may
    /// override it per feed).
    pub full_text: FullText,
    /// Networks (CIDR, e.g. `10.0.0.0/8`) an article page may be fetched from although
    /// they are not public. A page on the host of the feed that linked it is always
    /// allowed.
    pub private_networks: Vec<IpNet>,
    /// With several daemons on one PostgreSQL database: how long a daemon holds a due feed
    /// it claimed; when it dies mid-poll, another polls the feed this long after.
    pub lease: HumanDuration,
}

/// When to fetch an item's article page for its full text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FullText {
    /// Never: the feed's own text is all there is (the default: each page is one more
    /// request to someone else's server).
    #[default]
    Never,
    /// For items whose feed text is a summary (shorter than
    /// [`crate::fetch::policy::FULL_TEXT_BELOW_WORDS`] words).
    Auto,
    /// For every new item.
    Always,
}

impl FullText {
    /// The word used in feeds.toml and shown by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            FullText::Never => "never",
            FullText::Auto => "auto",
            FullText::Always => "always",
        }
    }

    /// Reads [`FullText::as_str`] back (a stored value); unknown words read as `Never`.
    pub fn from_word(word: &str) -> FullText {
        match word {
            "auto" => FullText::Auto,
            "always" => FullText::Always,
            _ => FullText::Never,
        }
    }
}

/// An IP network in CIDR notation (`192.168.0.0/16`, `fd00::/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet(pub ipnet::IpNet);

impl<'de> Deserialize<'de> for IpNet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.trim()
            .parse::<ipnet::IpNet>()
            .or_else(|_| {
                text.trim()
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
            })
            .map(IpNet)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a network in CIDR notation (like 10.0.0.0/8)"
                ))
            })
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            schedule: CronSchedule::from_str("*/15 * * * *").expect("constant cron"),
            timeout: HumanDuration(Duration::from_secs(30)),
            max_body: ByteSize(10 * 1024 * 1024),
            concurrency: 32,
            per_host: 2,
            user_agent: concat!(
                "tributary/",
                env!("CARGO_PKG_VERSION"),
                " (+https://example.org/about)"
            )
            .into(),
            full_text: FullText::Never,
            private_networks: Vec::new(),
            lease: HumanDuration(crate::daemon::policy::FEED_LEASE),
        }
    }
}

/// `[dedup]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// How far apart in time copies of one story may be.
    pub window: HumanDuration,
    /// Domains or feed names whose copy should represent a story (wire services' own feeds).
    pub prefer: Vec<String>,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            window: HumanDuration::hours(72),
            prefer: Vec::new(),
        }
    }
}

/// One `[[feeds]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique name; what the CLI and the merged feed show.
    pub name: Spanned<String>,
    /// The feed's URL (http or https).
    pub url: Spanned<HttpUrl>,
    /// Free-form tags for filtering the merged feed.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Overrides `[fetch].schedule` for this feed.
    #[serde(default)]
    pub schedule: Option<CronSchedule>,
    /// A disabled feed is kept in the file but not polled.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Overrides `[fetch].full_text` for this feed.
    #[serde(default)]
    pub full_text: Option<FullText>,
}

fn yes() -> bool {
    true
}

impl FeedConfig {
    /// The feed's name.
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }

    /// The feed's URL as configured.
    pub fn url(&self) -> &url::Url {
        &self.url.get_ref().0
    }
}

/// A config problem, already phrased for the operator: `FILE:LINE: key `K`: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads and validates the config at `path`; [`DATABASE_URL_ENV`], when set, gives the
    /// PostgreSQL database in place of `[storage]`'s.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read config: {e}", path.display())))?;
        let mut config = Config::parse(&text, path)?;
        if let Some(url) = std::env::var_os(DATABASE_URL_ENV) {
            config.use_database_url(&url.to_string_lossy())?;
        }
        Ok(config)
    }

    /// Makes `url` (from [`DATABASE_URL_ENV`]) the database, whatever `[storage]` says.
    pub fn use_database_url(&mut self, url: &str) -> Result<(), ConfigError> {
        let url: DatabaseUrl = url
            .parse()
            .map_err(|e| ConfigError(format!("{DATABASE_URL_ENV}: {e}")))?;
        self.storage.url = Some(Spanned::new(0..0, url));
        Ok(())
    }

    /// Parses and validates config text; `path` is used for messages and relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| describe_toml_error(path, text, &e))?;
        config.path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let dir = config
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if config.storage.path.is_relative() {
            config.storage.path = dir.join(&config.storage.path);
        }
        config.server.default_base_url(text);
        config.storage_is_one_place(text)?;
        config.validate(text)?;
        Ok(config)
    }

    /// `[storage]` names a file (`path`) or a server (`url`), never both.
    fn storage_is_one_place(&self, text: &str) -> Result<(), ConfigError> {
        let Some(url) = &self.storage.url else {
            return Ok(());
        };
        let has_path = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("storage")?.get("path").cloned())
            .is_some();
        if has_path {
            return Err(ConfigError(format!(
                "{}:{}: key `storage.url`: give `path` (an SQLite file) or `url` (a PostgreSQL database), not both",
                self.path.display(),
                line_of(text, url.span().start)
            )));
        }
        Ok(())
    }

    fn validate(&self, text: &str) -> Result<(), ConfigError> {
        let at = |span: std::ops::Range<usize>, key: &str, msg: String| {
            ConfigError(format!(
                "{}:{}: key `{key}`: {msg}",
                self.path.display(),
                line_of(text, span.start)
            ))
        };
        if self.fetch.concurrency == 0 {
            return Err(ConfigError(format!(
                "{}: key `fetch.concurrency`: must be at least 1",
                self.path.display()
            )));
        }
        if self.fetch.per_host == 0 {
            return Err(ConfigError(format!(
                "{}: key `fetch.per_host`: must be at least 1",
                self.path.display()
            )));
        }
        let mut names = std::collections::HashMap::new();
        let mut urls = std::collections::HashMap::new();
        for feed in &self.feeds {
            if feed.name().trim().is_empty() {
                return Err(at(
                    feed.name.span(),
                    "feeds.name",
                    "must not be empty".into(),
                ));
            }
            if let Some(first) = names.insert(
                feed.name().to_string(),
                line_of(text, feed.name.span().start),
            ) {
                return Err(at(
                    feed.name.span(),
                    "feeds.name",
                    format!("duplicate name {:?} (first on line {first})", feed.name()),
                ));
            }
            let key = normalize_feed_url(feed.url());
            if let Some(first) = urls.insert(key, line_of(text, feed.url.span().start)) {
                return Err(at(
                    feed.url.span(),
                    "feeds.url",
                    format!("duplicate URL {} (first on line {first})", feed.url()),
                ));
            }
        }
        Ok(())
    }

    /// The feed whose name or URL is `name_or_url`, if any.
    pub fn find_feed(&self, name_or_url: &str) -> Option<&FeedConfig> {
        let as_url = url::Url::parse(name_or_url)
            .ok()
            .map(|u| normalize_feed_url(&u));
        self.feeds.iter().find(|f| {
            f.name() == name_or_url || as_url.as_deref() == Some(&normalize_feed_url(f.url()))
        })
    }

    /// Whether `feed`'s article pages are fetched.
    pub fn full_text_of(&self, feed: &FeedConfig) -> FullText {
        feed.full_text.unwrap_or(self.fetch.full_text)
    }

    /// The schedule in force for `feed`.
    pub fn schedule_of<'a>(&'a self, feed: &'a FeedConfig) -> &'a CronSchedule {
        feed.schedule.as_ref().unwrap_or(&self.fetch.schedule)
    }
}

/// Turns a toml/serde error into `FILE:LINE: key `K`: message`.
fn describe_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err.span().map(|s| line_of(text, s.start));
    let key = err.span().and_then(|s| key_at(text, s.start));
    let mut msg = err.message().trim().to_string();
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        msg = format!("unknown key {rest}");
    }
    let place = match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    };
    match key {
        Some(k) => ConfigError(format!("{place}: key `{k}`: {msg}")),
        None => ConfigError(format!("{place}: {msg}")),
    }
}

/// 1-based line number of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key (`fetch.timeout`, `feeds.url`) whose line holds byte offset `at`: the
/// enclosing table header plus the key written on that line.
fn key_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let trimmed = line.trim();
    if trimmed.starts_with('[') {
        return Some(
            trimmed
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_string(),
        );
    }
    let key = trimmed.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return table;
    }
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// The form two feed URLs are compared in: scheme and host lowercased (the url crate does
/// it), default port dropped, a trailing slash removed.
pub fn normalize_feed_url(url: &url::Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    let s = u.as_str();
    s.strip_suffix('/').unwrap_or(s).to_string()
}

/// `url` as the public may see it: without the `user:password@` a feed behind basic auth
/// is configured with (`/feeds.opml`, `/sources`). The operator's own views (`feeds list`,
/// `feeds export`) keep them.
pub fn public_url(url: &url::Url) -> url::Url {
    let mut u = url.clone();
    // Both fail only for URLs that cannot carry credentials (no host), which have none.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u
}

/// `text` (an error sentence, which may name the URL it was about) with the credentials of
/// every `scheme://user:password@host` in it removed.
pub fn redact_credentials(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('@') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        rest = match tail[..authority_end].rfind('@') {
            Some(i) => &tail[i + 1..],
            None => tail,
        };
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// An absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub url::Url);

impl FromStr for HttpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let u = url::Url::parse(s.trim()).map_err(|e| format!("invalid URL {s:?}: {e}"))?;
        match u.scheme() {
            "http" | "https" if u.host_str().is_some() => Ok(HttpUrl(u)),
            _ => Err(format!(
                "invalid URL {s:?}: only http and https URLs with a host are supported"
            )),
        }
    }
}

/// A cron schedule as a crontab means it (5 fields; 6 or 7 with seconds and year).
#[derive(Clone)]
pub struct CronSchedule {
    /// The expression as written.
    pub pattern: String,
    /// The parsed schedule.
    pub cron: croner::Cron,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.pattern)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl FromStr for CronSchedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let fields = s.split_whitespace().count();
        if !(5..=7).contains(&fields) && !s.trim_start().starts_with('@') {
            return Err(format!(
                "invalid cron {s:?}: expected 5 fields (or 6/7 with seconds), found {fields}"
            ));
        }
        let cron =
            croner::Cron::from_str(s.trim()).map_err(|e| format!("invalid cron {s:?}: {e}"))?;
        Ok(CronSchedule {
            pattern: s.trim().to_string(),
            cron,
        })
    }
}

/// A duration written for humans: `30s`, `15m`, `72h`, `90d`, `2w` (or combined, `1h30m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// `n` hours.
    pub const fn hours(n: u64) -> Self {
        HumanDuration(Duration::from_secs(n * 3600))
    }
    /// `n` days.
    pub const fn days(n: u64) -> Self {
        HumanDuration(Duration::from_secs(n * 86_400))
    }
}

impl FromStr for HumanDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid duration {s:?}: write e.g. 30s, 15m, 72h, 90d");
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut saw_unit = false;
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            digits.clear();
            saw_unit = true;
        }
        if !digits.is_empty() || !saw_unit {
            return Err(bad());
        }
        Ok(HumanDuration(Duration::from_secs(total)))
    }
}

/// A size written for humans: `512KiB`, `10MiB`, `1GB`, or plain bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid size {s:?}: write e.g. 10MiB"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            _ => {
                return Err(format!(
                    "invalid size {s:?}: unit must be B, KiB, MiB, GiB, KB, MB or GB"
                ));
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }
}

/// Deserialises the `FromStr` types above from TOML strings (sizes also from integers), so
/// serde attaches the value's span to any error.
macro_rules! deserialize_from_str {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Raw { Text(String), Number(u64) }
                let text = match Raw::deserialize(d)? {
                    Raw::Text(t) => t,
                    Raw::Number(n) => n.to_string(),
                };
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
deserialize_from_str!(HttpUrl, DatabaseUrl, CronSchedule, HumanDuration, ByteSize);

#[cfg(test)]
mod tests {
    #[test]
    fn public_urls_and_error_sentences_lose_their_credentials() {
        let u = url::Url::parse("https://reader:s3cret@feeds.example/private.xml").unwrap();
        assert_eq!(
            super::public_url(&u).as_str(),
            "https://feeds.example/private.xml"
        );
        assert_eq!(
            super::redact_credentials(
                "https://reader:s3cret@feeds.example/x answered HTTP 401; see http://a@b.example?q=1@2"
            ),
            "https://feeds.example/x answered HTTP 401; see http://b.example?q=1@2"
        );
        assert_eq!(super::redact_credentials("mail me@x"), "mail me@x");
    }

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/feeds.toml"))
    }

    /// `[storage]` is a file by default, a PostgreSQL database with `url`; both is an error
    /// naming the line, and no message or debug print shows the password.
    #[test]
    fn storage_is_a_file_or_a_postgres_url_and_the_password_stays_hidden() {
        let c = parse("").unwrap();
        assert_eq!(
            c.storage.location(),
            StoreLocation::Sqlite("/etc/tributary.db".into())
        );
        let c = parse("[storage]\nurl = \"postgres://app:s3cret@db.example:5432/news\"\n").unwrap();
        let StoreLocation::Postgres(url) = c.storage.location() else {
            panic!("not postgres: {:?}", c.storage.location());
        };
        assert_eq!(url.expose(), "postgres://app:s3cret@db.example:5432/news");
        assert_eq!(url.to_string(), "postgres://db.example:5432/news");
        for shown in [format!("{c:?}"), c.storage.location().to_string()] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }

        let both = "[storage]\npath = \"t.db\"\nurl = \"postgres://app:s3cret@db.example/news\"\n";
        let e = parse(both).unwrap_err().to_string();
        assert!(
            e.starts_with("/etc/feeds.toml:3: key `storage.url`:"),
            "{e}"
        );
        assert!(e.contains("not both") && !e.contains("s3cret"), "{e}");

        let e = parse("[storage]\nurl = \"mysql://app:s3cret@db.example/news\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/etc/feeds.toml:2: key `storage.url`:"),
            "{e}"
        );
        assert!(
            e.contains("only PostgreSQL") && !e.contains("s3cret"),
            "{e}"
        );

        let mut c = parse("[storage]\npath = \"t.db\"\n").unwrap();
        c.use_database_url("postgresql://u:pw@127.0.0.1/test")
            .unwrap();
        assert_eq!(
            c.storage.location().to_string(),
            "postgresql://127.0.0.1/test"
        );
        let e = c.use_database_url("nonsense:pw").unwrap_err().to_string();
        assert!(
            e.starts_with("TRIBUTARY_DATABASE_URL: ") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn a_file_with_only_feeds_gets_every_default() {
        let c = parse("[[feeds]]\nname = \"A\"\nurl = \"https://a.example/rss\"\n").unwrap();
        assert_eq!(c.fetch.concurrency, 32);
        assert_eq!(c.storage.path, PathBuf::from("/etc/tributary.db"));
        assert_eq!(c.dedup.window, HumanDuration::hours(72));
        assert!(c.feeds[0].enabled);
    }

    #[test]
    fn self_links_follow_the_listen_address_unless_base_url_is_given() {
        let base = |t: &str| parse(t).unwrap().server.base_url.0.to_string();
        assert_eq!(base(""), "http://127.0.0.1:8080/");
        assert_eq!(
            base("[server]\nlisten = \"127.0.0.1:9090\"\n"),
            "http://127.0.0.1:9090/"
        );
        assert_eq!(
            base("[server]\nlisten = \"127.0.0.1:9090\"\nbase_url = \"https://news.example/\"\n"),
            "https://news.example/"
        );
        // A wildcard address is not where subscribers reach it: keep the default.
        assert_eq!(
            base("[server]\nlisten = \"0.0.0.0:9090\"\n"),
            "http://127.0.0.1:8080/"
        );
    }

    #[test]
    fn durations_and_sizes_read_as_humans_write_them() {
        assert_eq!("30s".parse::<HumanDuration>().unwrap().0.as_secs(), 30);
        assert_eq!("1h30m".parse::<HumanDuration>().unwrap().0.as_secs(), 5400);
        assert_eq!(
            "90d".parse::<HumanDuration>().unwrap().0.as_secs(),
            90 * 86_400
        );
        assert!("90".parse::<HumanDuration>().is_err());
        assert!("ten minutes".parse::<HumanDuration>().is_err());
        assert_eq!("10MiB".parse::<ByteSize>().unwrap().0, 10 << 20);
        assert!("10 parsecs".parse::<ByteSize>().is_err());
    }

    #[test]
    fn crontab_syntax_means_what_a_crontab_means() {
        use chrono::{Datelike, TimeZone, Utc};
        let c: CronSchedule = "0 9 * * 1".parse().unwrap();
        let from = Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap(); // a Saturday
        let next = c.cron.find_next_occurrence(&from, false).unwrap();
        assert_eq!(next.weekday(), chrono::Weekday::Mon);
        assert!("*/15 * * * *".parse::<CronSchedule>().is_ok());
        assert!("0 */15 * * * *".parse::<CronSchedule>().is_ok());
        assert!("*/15 * * *".parse::<CronSchedule>().is_err());
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = parse("[fetch]\n\ntimeout = \"soon\"\n").unwrap_err().0;
        assert!(
            e.contains("/etc/feeds.toml:3") && e.contains("fetch.timeout"),
            "{e}"
        );
        let e = parse("[fetch]\nshedule = \"* * * * *\"\n").unwrap_err().0;
        assert!(e.contains(":2") && e.contains("shedule"), "{e}");
        let e = parse("[[feeds]]\nname = \"A\"\nurl = \"https://a.example/\"\n[[feeds]]\nname = \"A\"\nurl = \"https://b.example/\"\n")
            .unwrap_err()
            .0;
        assert!(
            e.contains(":5") && e.contains("feeds.name") && e.contains("duplicate"),
            "{e}"
        );
        let e = parse("[[feeds]]\nname = \"A\"\nurl = \"HTTPS://A.example:443/x/\"\n[[feeds]]\nname = \"B\"\nurl = \"https://a.example/x\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains(":6") && e.contains("duplicate URL"), "{e}");
        let e = parse("[[feeds]]\nname = \"A\"\nurl = \"ftp://a.example/\"\n")
            .unwrap_err()
            .0;
        assert!(e.contains(":3") && e.contains("feeds.url"), "{e}");
        let e = parse(
            "[[feeds]]\nname = \"A\"\nurl = \"https://a.example/\"\nschedule = \"every hour\"\n",
        )
        .unwrap_err()
        .0;
        assert!(e.contains(":4") && e.contains("feeds.schedule"), "{e}");
    }
}
