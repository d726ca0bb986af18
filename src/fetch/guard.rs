//! Keeping article-page fetches on the public Internet.
//!
//! An item's `<link>` is written by whoever controls the feed, so fetching it for the full
//! text must not let a feed point the daemon at `127.0.0.1:6379`, the cloud metadata
//! service at `169.254.169.254` or a router on `192.168.1.1` (server-side request forgery).
//! [`classify`] says whether an address is public; a [`Guard`] adds the networks the
//! operator allowed (`[fetch].private_networks`); a [`GuardedResolver`] is the page
//! client's DNS resolver, so the addresses checked are exactly the addresses connected to,
//! after name resolution and before any connection (no time-of-check/time-of-use gap, no
//! DNS rebinding between a check and the connect). IP literals never reach a resolver, so
//! the fetcher checks those with [`Guard::check`] itself.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether an address is on the public Internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Globally reachable unicast.
    Public,
    /// Not public; the kind in words, e.g. "a loopback address".
    NotPublic(&'static str),
}

const UNSPECIFIED: &str = "an unspecified address";
const THIS_NETWORK: &str = "a this-network address";
const LOOPBACK: &str = "a loopback address";
const PRIVATE: &str = "a private address";
const LINK_LOCAL: &str = "a link-local address";
const SHARED: &str = "a shared (carrier-grade NAT) address";
const PROTOCOL: &str = "an IETF protocol address";
const DOCUMENTATION: &str = "a documentation address";
const BENCHMARKING: &str = "a benchmarking address";
const MULTICAST: &str = "a multicast address";
const RESERVED: &str = "a reserved address";
const BROADCAST: &str = "a broadcast address";
const DISCARD: &str = "a discard-only address";
const SITE_LOCAL: &str = "a site-local address";
const LOCAL_NAT64: &str = "a local-use NAT64 address";

fn v4(text: &str) -> Ipv4Net {
    text.parse().expect("constant network")
}

fn v6(text: &str) -> Ipv6Net {
    text.parse().expect("constant network")
}

/// IPv4 ranges std has no stable method for.
static V4_RANGES: LazyLock<[(Ipv4Net, &'static str); 5]> = LazyLock::new(|| {
    [
        (v4("0.0.0.0/8"), THIS_NETWORK),
        (v4("100.64.0.0/10"), SHARED),
        (v4("192.0.0.0/24"), PROTOCOL),
        (v4("198.18.0.0/15"), BENCHMARKING),
        (v4("240.0.0.0/4"), RESERVED),
    ]
});

/// IPv6 ranges std has no stable method for (those that embed an IPv4 address are
/// handled apart).
static V6_RANGES: LazyLock<[(Ipv6Net, &'static str); 7]> = LazyLock::new(|| {
    [
        (v6("100::/64"), DISCARD),
        (v6("64:ff9b:1::/48"), LOCAL_NAT64),
        (v6("2001:db8::/32"), DOCUMENTATION),
        (v6("3fff::/20"), DOCUMENTATION),
        // IETF protocol assignments: Teredo, ORCHID, benchmarking (2001:2::/48), ...
        (v6("2001::/23"), PROTOCOL),
        (v6("fec0::/10"), SITE_LOCAL),
        (v6("5f00::/16"), RESERVED),
    ]
});

/// Where IPv6 global unicast is allocated from; anything outside is not public.
static V6_GLOBAL_UNICAST: LazyLock<Ipv6Net> = LazyLock::new(|| v6("2000::/3"));
static V6_NAT64: LazyLock<Ipv6Net> = LazyLock::new(|| v6("64:ff9b::/96"));
static V6_COMPATIBLE: LazyLock<Ipv6Net> = LazyLock::new(|| v6("::/96"));
static V6_6TO4: LazyLock<Ipv6Net> = LazyLock::new(|| v6("2002::/16"));

/// Whether `ip` is a public address, and when not, what kind it is. Pure: no lookups.
pub fn classify(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Reach {
    let kind = if ip.is_unspecified() {
        UNSPECIFIED
    } else if ip.is_loopback() {
        LOOPBACK
    } else if ip.is_private() {
        PRIVATE
    } else if ip.is_link_local() {
        LINK_LOCAL
    } else if ip.is_documentation() {
        DOCUMENTATION
    } else if ip.is_multicast() {
        MULTICAST
    } else if ip.is_broadcast() {
        BROADCAST
    } else if let Some((_, kind)) = V4_RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        kind
    } else {
        return Reach::Public;
    };
    Reach::NotPublic(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Reach {
    // An address that carries an IPv4 address reaches (or is translated to) that address.
    if let Some(embedded) = ip.to_ipv4_mapped() {
        return classify_v4(embedded);
    }
    let kind = if ip.is_unspecified() {
        UNSPECIFIED
    } else if ip.is_loopback() {
        LOOPBACK
    } else if V6_COMPATIBLE.contains(&ip) || V6_NAT64.contains(&ip) {
        return classify_v4(low_v4(ip));
    } else if V6_6TO4.contains(&ip) {
        let s = ip.segments();
        let embedded = (u32::from(s[1]) << 16) | u32::from(s[2]);
        return classify_v4(Ipv4Addr::from(embedded));
    } else if ip.is_unique_local() {
        PRIVATE
    } else if ip.is_unicast_link_local() {
        LINK_LOCAL
    } else if ip.is_multicast() {
        MULTICAST
    } else if let Some((_, kind)) = V6_RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        kind
    } else if !V6_GLOBAL_UNICAST.contains(&ip) {
        RESERVED
    } else {
        return Reach::Public;
    };
    Reach::NotPublic(kind)
}

/// The IPv4 address in the last 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from((u128::from(ip) & 0xffff_ffff) as u32)
}

/// The public Internet plus the networks the operator allowed.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allowed: Vec<IpNet>,
}

impl Guard {
    /// A guard that also lets through addresses inside `allowed`
    /// (`[fetch].private_networks`).
    pub fn new(allowed: Vec<IpNet>) -> Guard {
        Guard { allowed }
    }

    /// Ok when `ip` is public or inside an allowed network; else why not, as
    /// "127.0.0.2 is a loopback address".
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        match self.refusal(ip) {
            None => Ok(()),
            Some(kind) => Err(format!("{ip} is {kind}")),
        }
    }

    /// The kind of a refused address; `None` when it may be connected to.
    fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let canonical = ip.to_canonical();
        if self
            .allowed
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return None;
        }
        match classify(ip) {
            Reach::Public => None,
            Reach::NotPublic(kind) => Some(kind),
        }
    }
}

/// A name that resolved only to addresses the [`Guard`] refuses: the resolve error of the
/// page client, which the fetcher finds in the error's source chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardRefused {
    /// The name that was resolved.
    pub host: String,
    /// Every address it resolved to, with its kind.
    pub addresses: Vec<(IpAddr, &'static str)>,
}

impl fmt::Display for GuardRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused: {} resolves only to ", self.host)?;
        for (i, (ip, kind)) in self.addresses.iter().enumerate() {
            let sep = match i {
                0 => "",
                i if i + 1 == self.addresses.len() => " and ",
                _ => "; ",
            };
            write!(f, "{sep}{ip}, {kind}")?;
        }
        write!(f, " ({PUBLIC_ONLY})")
    }
}

impl std::error::Error for GuardRefused {}

/// The hint every refusal ends with.
pub(crate) const PUBLIC_ONLY: &str =
    "an article page must be on a public network; see [fetch] private_networks";

/// The page client's resolver: the system resolver (or an override), then the [`Guard`].
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    guard: Guard,
    overrides: HashMap<String, Vec<SocketAddr>>,
}

impl GuardedResolver {
    /// A resolver checking every address with `guard`; `overrides` (lowercase name →
    /// addresses, like curl's `--resolve`) are used instead of the system resolver, and
    /// checked the same way.
    pub fn new(guard: Guard, overrides: HashMap<String, Vec<SocketAddr>>) -> GuardedResolver {
        let overrides = overrides
            .into_iter()
            .map(|(name, addrs)| (name.to_ascii_lowercase(), addrs))
            .collect();
        GuardedResolver { guard, overrides }
    }

    /// Resolves `host` and keeps the addresses the guard lets through.
    pub async fn lookup(&self, host: &str) -> Result<Vec<SocketAddr>, BoxError> {
        let found: Vec<SocketAddr> = match self.overrides.get(&host.to_ascii_lowercase()) {
            Some(addrs) => addrs.clone(),
            None => tokio::net::lookup_host((host, 0)).await?.collect(),
        };
        self.screen(host, found)
    }

    fn screen(&self, host: &str, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, BoxError> {
        if found.is_empty() {
            return Err(format!("{host} resolves to no address").into());
        }
        let mut refused: Vec<(IpAddr, &'static str)> = Vec::new();
        let mut kept = Vec::with_capacity(found.len());
        for addr in found {
            match self.guard.refusal(addr.ip()) {
                None => kept.push(addr),
                Some(kind) => {
                    if !refused.iter().any(|(ip, _)| *ip == addr.ip()) {
                        refused.push((addr.ip(), kind));
                    }
                }
            }
        }
        if kept.is_empty() {
            return Err(Box::new(GuardRefused {
                host: host.to_string(),
                addresses: refused,
            }));
        }
        if !refused.is_empty() {
            tracing::debug!(host, ?refused, "dropped non-public addresses");
        }
        Ok(kept)
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let kept = this.lookup(name.as_str()).await?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn every_non_public_range_is_named() {
        let table: &[(&str, &str)] = &[
            ("0.0.0.0", UNSPECIFIED),
            ("0.1.2.3", THIS_NETWORK),
            ("10.0.0.1", PRIVATE),
            ("10.255.255.255", PRIVATE),
            ("100.64.0.1", SHARED),
            ("100.127.255.254", SHARED),
            ("127.0.0.1", LOOPBACK),
            ("127.0.0.2", LOOPBACK),
            ("127.255.255.254", LOOPBACK),
            ("169.254.169.254", LINK_LOCAL),
            ("172.16.0.1", PRIVATE),
            ("172.31.255.255", PRIVATE),
            ("192.0.0.8", PROTOCOL),
            ("192.0.2.1", DOCUMENTATION),
            ("192.168.1.1", PRIVATE),
            ("198.18.0.1", BENCHMARKING),
            ("198.19.255.255", BENCHMARKING),
            ("198.51.100.7", DOCUMENTATION),
            ("203.0.113.9", DOCUMENTATION),
            ("224.0.0.1", MULTICAST),
            ("239.255.255.250", MULTICAST),
            ("240.0.0.1", RESERVED),
            ("255.255.255.254", RESERVED),
            ("255.255.255.255", BROADCAST),
            ("::", UNSPECIFIED),
            ("::1", LOOPBACK),
            ("fc00::1", PRIVATE),
            ("fd12:3456::1", PRIVATE),
            ("fe80::1", LINK_LOCAL),
            ("febf::1", LINK_LOCAL),
            ("fec0::1", SITE_LOCAL),
            ("ff02::1", MULTICAST),
            ("ff0e::1", MULTICAST),
            ("2001:db8::1", DOCUMENTATION),
            ("3fff::1", DOCUMENTATION),
            ("2001::1", PROTOCOL),
            ("100::1", DISCARD),
            ("64:ff9b:1::1", LOCAL_NAT64),
            ("5f00::1", RESERVED),
            ("4000::1", RESERVED),
            ("1::1", RESERVED),
            // Addresses carrying an IPv4 address are judged by it.
            ("::ffff:127.0.0.1", LOOPBACK),
            ("::ffff:10.1.2.3", PRIVATE),
            ("::ffff:169.254.169.254", LINK_LOCAL),
            ("::127.0.0.1", LOOPBACK),
            ("::10.0.0.1", PRIVATE),
            ("64:ff9b::127.0.0.1", LOOPBACK),
            ("64:ff9b::192.168.0.1", PRIVATE),
            ("2002:7f00:1::1", LOOPBACK),
            ("2002:c0a8:101::1", PRIVATE),
        ];
        for (text, kind) in table {
            assert_eq!(classify(ip(text)), Reach::NotPublic(kind), "{text}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        let table = [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82a::200e",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ];
        for text in table {
            assert_eq!(classify(ip(text)), Reach::Public, "{text}");
        }
    }

    #[test]
    fn the_guard_allows_public_and_configured_networks() {
        let guard = Guard::new(vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(guard.check(ip("8.8.8.8")), Ok(()));
        assert_eq!(guard.check(ip("10.1.2.3")), Ok(()));
        assert_eq!(guard.check(ip("::ffff:10.1.2.3")), Ok(()));
        assert_eq!(
            guard.check(ip("127.0.0.2")),
            Err("127.0.0.2 is a loopback address".to_string())
        );
        assert_eq!(
            guard.check(ip("192.168.0.1")),
            Err("192.168.0.1 is a private address".to_string())
        );
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let overrides = HashMap::from([
            ("intranet.example".to_string(), vec![sa("10.1.2.3:0")]),
            (
                "Mixed.Example".to_string(),
                vec![sa("127.0.0.1:0"), sa("93.184.215.14:0")],
            ),
            (
                "twice.example".to_string(),
                vec![sa("127.0.0.1:0"), sa("[fd00::1]:0")],
            ),
        ]);
        let resolver = GuardedResolver::new(Guard::default(), overrides);
        let err = resolver.lookup("intranet.example").await.unwrap_err();
        let refused = err.downcast_ref::<GuardRefused>().expect("a GuardRefused");
        assert_eq!(refused.host, "intranet.example");
        assert_eq!(
            err.to_string(),
            "refused: intranet.example resolves only to 10.1.2.3, a private address (an \
             article page must be on a public network; see [fetch] private_networks)"
        );
        assert_eq!(
            resolver.lookup("mixed.example").await.unwrap(),
            vec![sa("93.184.215.14:0")]
        );
        let err = resolver.lookup("twice.example").await.unwrap_err();
        assert!(
            err.to_string().contains(
                "resolves only to 127.0.0.1, a loopback address and fd00::1, a private address"
            ),
            "{err}"
        );
        let open = GuardedResolver::new(
            Guard::new(vec!["10.0.0.0/8".parse().unwrap()]),
            HashMap::from([("intranet.example".to_string(), vec![sa("10.1.2.3:0")])]),
        );
        assert_eq!(
            open.lookup("intranet.example").await.unwrap(),
            vec![sa("10.1.2.3:0")]
        );
    }
}
