//! The tests' feed builder: RSS 2.0 documents from a channel and its items, every text
//! escaped, full text as `content:encoded`; and pseudo-random prose for their texts.

use std::fmt::Write as _;

/// `s` escaped for XML/HTML text and attribute values (the toolkit's escaper).
pub fn esc(s: &str) -> String {
    tributary::markup::escape::attribute(s).into_owned()
}

/// An RSS 2.0 channel.
#[derive(Debug, Clone)]
pub struct Feed {
    title: String,
    link: String,
    description: String,
    /// Raw XML after the channel's description (`<ttl>`, `<language>`, hand-written items).
    extra: String,
    items: Vec<Item>,
}

/// One item. Texts are plain (escaped when written); `description` may be HTML, which is
/// escaped too, as RSS carries it; `content` is HTML written as CDATA.
#[derive(Debug, Clone, Default)]
pub struct Item {
    pub title: String,
    pub link: Option<String>,
    /// Written as `<guid isPermaLink="false">`.
    pub guid: Option<String>,
    pub description: Option<String>,
    /// An RFC 2822 date.
    pub published: Option<String>,
    /// `content:encoded`.
    pub content: Option<String>,
}

impl Item {
    /// An item with a title and a link.
    pub fn new(title: &str, link: &str) -> Item {
        Item {
            title: title.into(),
            link: Some(link.into()),
            ..Item::default()
        }
    }

    pub fn guid(self, guid: &str) -> Item {
        Item {
            guid: Some(guid.into()),
            ..self
        }
    }

    pub fn description(self, description: &str) -> Item {
        Item {
            description: Some(description.into()),
            ..self
        }
    }

    pub fn published(self, rfc2822: &str) -> Item {
        Item {
            published: Some(rfc2822.into()),
            ..self
        }
    }

    pub fn content(self, html: &str) -> Item {
        Item {
            content: Some(html.into()),
            ..self
        }
    }
}

impl Feed {
    /// A channel titled `title`, linking to `https://news.example/`.
    pub fn new(title: &str) -> Feed {
        Feed {
            title: title.into(),
            link: "https://news.example/".into(),
            description: "News".into(),
            extra: String::new(),
            items: Vec::new(),
        }
    }

    pub fn link(self, link: &str) -> Feed {
        Feed {
            link: link.into(),
            ..self
        }
    }

    pub fn description(self, description: &str) -> Feed {
        Feed {
            description: description.into(),
            ..self
        }
    }

    /// Appends raw XML to the channel, before the items.
    pub fn channel(mut self, xml: &str) -> Feed {
        self.extra.push_str(xml);
        self
    }

    pub fn item(mut self, item: Item) -> Feed {
        self.items.push(item);
        self
    }

    pub fn items(mut self, items: impl IntoIterator<Item = Item>) -> Feed {
        self.items.extend(items);
        self
    }

    /// The RSS document.
    pub fn rss(&self) -> String {
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>{}</title><link>{}</link><description>{}</description>{}",
            esc(&self.title),
            esc(&self.link),
            esc(&self.description),
            self.extra
        );
        for i in &self.items {
            let _ = write!(out, "<item><title>{}</title>", esc(&i.title));
            if let Some(link) = &i.link {
                let _ = write!(out, "<link>{}</link>", esc(link));
            }
            if let Some(guid) = &i.guid {
                let _ = write!(out, "<guid isPermaLink=\"false\">{}</guid>", esc(guid));
            }
            if let Some(d) = &i.description {
                let _ = write!(out, "<description>{}</description>", esc(d));
            }
            if let Some(p) = &i.published {
                let _ = write!(out, "<pubDate>{}</pubDate>", esc(p));
            }
            if let Some(c) = &i.content {
                assert!(!c.contains("]]>"), "content cannot be CDATA: {c}");
                let _ = write!(out, "<content:encoded><![CDATA[{c}]]></content:encoded>");
            }
            out.push_str("</item>");
        }
        out.push_str("</channel></rss>\n");
        out
    }
}

/// A feed titled `title` with `n` items whose GUIDs start with `prefix`: "`prefix` story
/// `k` about the harbour", linking to `https://prefix.example/k`, published a minute
/// apart, each with a one-sentence description; `extra_channel` is raw channel XML.
pub fn rss(title: &str, prefix: &str, n: usize, extra_channel: &str) -> String {
    Feed::new(title)
        .link(&format!("https://{prefix}.example/"))
        .description("d")
        .channel(extra_channel)
        .items((0..n).map(|k| {
            Item::new(
                &format!("{prefix} story {k} about the harbour"),
                &format!("https://{prefix}.example/{k}"),
            )
            .guid(&format!("{prefix}-{k}"))
            .published(&format!("Mon, 14 Jul 2025 10:{:02}:00 GMT", k % 60))
            .description(&format!(
                "{prefix} reports item {k}: the council approved the plan."
            ))
        }))
        .rss()
}

const VOCAB: &[&str] = &[
    "harbour",
    "council",
    "river",
    "bridge",
    "minister",
    "storm",
    "market",
    "farmers",
    "railway",
    "school",
    "hospital",
    "election",
    "budget",
    "treaty",
    "village",
    "museum",
    "festival",
    "airport",
    "factory",
    "union",
    "court",
    "judge",
    "police",
    "mayor",
    "coast",
    "forest",
    "drought",
    "flood",
    "tunnel",
    "ferry",
    "island",
    "border",
    "province",
    "senate",
    "governor",
    "teachers",
    "nurses",
    "workers",
    "pension",
    "tariff",
    "exports",
    "harvest",
    "wheat",
    "copper",
    "mine",
    "pipeline",
    "reactor",
    "satellite",
    "vaccine",
    "clinic",
    "stadium",
    "league",
    "coach",
    "striker",
    "orchestra",
    "library",
    "archive",
    "painting",
    "novel",
    "poet",
    "cathedral",
    "monastery",
    "glacier",
    "volcano",
    "earthquake",
    "wildfire",
    "lighthouse",
    "fishermen",
    "trawler",
    "quota",
    "subsidy",
    "inflation",
    "currency",
    "bank",
    "lender",
    "mortgage",
    "tenants",
    "landlord",
    "housing",
    "permit",
    "zoning",
    "highway",
    "cyclists",
    "pedestrians",
    "tram",
    "depot",
    "warehouse",
    "shipyard",
    "crane",
    "dockers",
    "strike",
    "talks",
    "mediator",
    "ceasefire",
    "envoy",
    "summit",
    "delegation",
    "embassy",
    "refugees",
    "shelter",
    "volunteers",
    "donors",
    "charity",
    "auction",
    "collector",
    "inventor",
    "patent",
    "laboratory",
    "researchers",
    "telescope",
    "comet",
    "orbit",
    "quietly",
    "sharply",
    "briefly",
    "openly",
    "slowly",
    "warned",
    "agreed",
    "rejected",
    "announced",
    "delayed",
    "approved",
    "blocked",
    "praised",
    "questioned",
    "northern",
    "southern",
    "eastern",
    "western",
    "ancient",
    "modern",
    "rural",
    "coastal",
];

/// `words` words of pseudo-random prose from `seed`: sentences of twelve words with a
/// comma in each, so two seeds share no run of five words.
pub fn prose(seed: u64, words: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = String::new();
    for i in 0..words {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let w = VOCAB[(x % VOCAB.len() as u64) as usize];
        if i % 12 == 0 {
            let mut c = w.chars();
            let first = c.next().unwrap().to_ascii_uppercase();
            out.push(first);
            out.push_str(c.as_str());
        } else {
            out.push_str(w);
        }
        if i + 1 == words || i % 12 == 11 {
            out.push('.');
        } else if i % 12 == 5 {
            out.push(',');
        }
        if i + 1 < words {
            out.push(' ');
        }
    }
    out
}
