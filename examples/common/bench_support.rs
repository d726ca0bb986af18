//! Shared by the poll and ingest benchmarks: the generated outlet feeds and the process
//! measurements. Included with `#[path]`, so each example uses what it needs.
#![allow(dead_code)]

use std::time::Duration;

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 1/100 s).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |x| x.1);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields after the name start at field 3 (state); utime is field 14, stime 15.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size of this process in KiB (VmHWM).
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One outlet's feed: `entries` items with distinct titles, links, GUIDs and text (words
/// drawn from a seeded generator, so outlets do not all repeat one templated story).
pub fn document(i: usize, entries: usize) -> String {
    let mut items = String::new();
    for k in 0..entries {
        let mut words = Words::new((i * 1_000_003 + k) as u64);
        let title = words.take(8);
        let text: Vec<String> = (0..3).map(|_| words.take(25)).collect();
        items.push_str(&format!(
            "<item><title>{title}</title>\
             <link>https://outlet{i}.example/news/{k}</link><guid>https://outlet{i}.example/news/{k}</guid>\
             <pubDate>Mon, 14 Jul 2025 {:02}:{:02}:00 GMT</pubDate>\
             <description>&lt;p&gt;{}.&lt;/p&gt;&lt;p&gt;{}.&lt;/p&gt;&lt;p&gt;{}.&lt;/p&gt;</description></item>",
            k % 24,
            (k * 7 + i) % 60,
            text[0],
            text[1],
            text[2],
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Outlet {i}</title>\
         <link>https://outlet{i}.example/</link><description>News from outlet {i}</description>{items}</channel></rss>"
    )
}

/// A deterministic stream of made-up words (two or three syllables each).
pub struct Words(u64);

const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bra", "den", "fi", "gor", "hal", "jun", "kel",
    "lan", "mor", "nis", "pol", "quar", "ris", "sto", "tan", "ul", "ver", "wen", "yal", "zor",
    "cha", "dri", "esk", "thu",
];

impl Words {
    fn new(seed: u64) -> Words {
        Words(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn take(&mut self, n: usize) -> String {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r = self.next();
            let len = 2 + (r % 2) as usize;
            let word: String = (0..len)
                .map(|j| SYLLABLES[((r >> (8 + 5 * j)) & 31) as usize])
                .collect();
            out.push(word);
        }
        out.join(" ")
    }
}
