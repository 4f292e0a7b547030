//! The outbound allow-list (SSRF guard). Every request the client makes goes to a URL that
//! [`EgressPolicy::check_url`] accepts (https, a host name on the operator's allow-list, default
//! port, no IP literal, no credentials), and every connection goes to an address the guarded DNS
//! resolver accepted: loopback, private (RFC 1918, ULA), link-local, CGNAT, metadata
//! (169.254.169.254, fd00:ec2::254), documentation, multicast and reserved addresses are
//! refused. The resolver is the one reqwest connects with, so the address that was checked is
//! the address connected to (no time-of-check/time-of-use gap, no DNS rebinding).
//!
//! Only for development and tests, [`EgressPolicy::with_insecure_loopback`] also lets `http` or
//! `https` reach loopback (`127.0.0.0/8`, `::1`, `localhost`) on any port: the simulator.
//!
//! Refusals are one error, [`NotAllowed`], whatever the reason: it never tells a reachable
//! destination from an unreachable one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

use crate::config::ConfigError;

/// 360Dialog's API hosts: the Cloud API and the sandbox (DIALOG360.md). The old on-premise
/// `waba.360dialog.io` is retired and not on the default list.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &["waba-v2.360dialog.io", "waba-sandbox.360dialog.io"];

/// An outbound destination was refused by the allow-list. Deliberately without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("destination not allowed")]
pub struct NotAllowed;

/// Which destinations the client may call: the operator's allow-list of host names (exact, or
/// `*.example.com` for subdomains), https on the default port only; tenants cannot widen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    hosts: Vec<String>,
    insecure_loopback: bool,
}

impl Default for EgressPolicy {
    /// [`DEFAULT_ALLOWED_HOSTS`], https only, no loopback.
    fn default() -> Self {
        Self { hosts: DEFAULT_ALLOWED_HOSTS.iter().map(|h| (*h).to_owned()).collect(), insecure_loopback: false }
    }
}

impl EgressPolicy {
    /// A policy allowing exactly these host names (`api.example.com` or `*.example.com`).
    /// IP literals, ports, schemes and empty entries are configuration errors.
    pub fn new<I, S>(hosts: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Vec::new();
        for host in hosts {
            let host = host.as_ref().trim().trim_end_matches('.').to_ascii_lowercase();
            let name = host.strip_prefix("*.").unwrap_or(&host);
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                })
                && name.parse::<IpAddr>().is_err()
                // a dotted-number name would be read as an IPv4 address by URL parsers
                && !name.split('.').all(|label| label.bytes().all(|b| b.is_ascii_digit()));
            if !valid {
                return Err(ConfigError::Setting {
                    name: "allowed_hosts",
                    reason: "each entry must be a host name (or *.domain), no IP address, scheme or port",
                });
            }
            list.push(host);
        }
        Ok(Self { hosts: list, insecure_loopback: false })
    }

    /// Also allows `http` and `https` to loopback addresses and `localhost` on any port.
    /// Development (`--dev`, the simulator) and tests only.
    #[must_use]
    pub const fn with_insecure_loopback(mut self, allow: bool) -> Self {
        self.insecure_loopback = allow;
        self
    }

    /// The default hosts plus loopback (tests and the simulator).
    pub fn insecure_loopback() -> Self {
        Self::default().with_insecure_loopback(true)
    }

    /// Whether loopback is allowed (development and tests).
    pub const fn allows_insecure_loopback(&self) -> bool {
        self.insecure_loopback
    }

    /// The allowed host names.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether a request to `url` may be made (before any DNS lookup).
    pub fn check_url(&self, url: &Url) -> Result<(), NotAllowed> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NotAllowed);
        }
        let scheme_ok = |https_only: bool| url.scheme() == "https" || (!https_only && url.scheme() == "http");
        match url.host() {
            Some(Host::Ipv4(ip)) => {
                if self.insecure_loopback && scheme_ok(false) && ip.is_loopback() {
                    Ok(())
                } else {
                    Err(NotAllowed)
                }
            }
            Some(Host::Ipv6(ip)) => {
                if self.insecure_loopback && scheme_ok(false) && ip.is_loopback() {
                    Ok(())
                } else {
                    Err(NotAllowed)
                }
            }
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if self.insecure_loopback && scheme_ok(false) && name == "localhost" {
                    return Ok(());
                }
                let default_port = url.port().is_none_or(|p| p == 443);
                if scheme_ok(true) && default_port && self.host_listed(&name) { Ok(()) } else { Err(NotAllowed) }
            }
            None => Err(NotAllowed),
        }
    }

    fn host_listed(&self, name: &str) -> bool {
        self.hosts.iter().any(|entry| match entry.strip_prefix("*.") {
            Some(domain) => name.strip_suffix(domain).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => entry == name,
        })
    }

    /// Whether a connection to `ip` may be made: public unicast only (plus loopback with
    /// [`Self::with_insecure_loopback`]).
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        is_public(ip) || (self.insecure_loopback && is_loopback(ip))
    }

    /// A DNS resolver for reqwest that resolves with `inner` and refuses the name unless every
    /// address it resolves to is allowed.
    pub fn resolver(&self, inner: Arc<dyn Resolve>) -> GuardedResolver {
        GuardedResolver { policy: Arc::new(self.clone()), inner }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// Public unicast: not loopback, private, link-local, CGNAT, metadata, documentation,
/// benchmarking, multicast, reserved or unspecified; IPv6 forms embedding an IPv4 address are
/// judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0                                   // "this network"
        || a == 10                                         // RFC 1918
        || (a == 100 && (64..128).contains(&b))            // CGNAT, RFC 6598
        || a == 127                                        // loopback
        || (a == 169 && b == 254)                          // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))             // RFC 1918
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // documentation
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay anycast
        || (a == 192 && b == 168)                          // RFC 1918
        || (a == 198 && (b == 18 || b == 19))              // benchmarking
        || (a == 198 && b == 51 && c == 100)               // documentation
        || (a == 203 && b == 0 && c == 113)                // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let [s0, s1, s2, s3, s4, s5, s6, s7] = ip.segments();
    let embedded = Ipv4Addr::from((u32::from(s6) << 16) | u32::from(s7));
    if s0 == 0x0064 && s1 == 0xff9b && s2 == 0 && s3 == 0 && s4 == 0 && s5 == 0 {
        // NAT64 well-known prefix: the IPv4 address it reaches decides
        return is_public_v4(embedded);
    }
    if s0 == 0x2002 {
        // 6to4: the embedded IPv4 address decides
        return is_public_v4(Ipv4Addr::from((u32::from(s1) << 16) | u32::from(s2)));
    }
    let global_unicast = (s0 & 0xe000) == 0x2000; // 2000::/3
    // 2001::/23 IETF protocol assignments (Teredo, ...), 2001:db8::/32 and 3fff::/20 documentation
    let refused = (s0 == 0x2001 && (s1 < 0x0200 || s1 == 0x0db8)) || (s0 & 0xfff0) == 0x3ff0;
    global_unicast && !refused
}

/// The system resolver (getaddrinfo through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// reqwest's resolver under the policy: a name resolving to any refused address is refused
/// as a whole ([`NotAllowed`]), so a connection only ever goes to checked addresses.
#[derive(Clone)]
pub struct GuardedResolver {
    policy: Arc<EgressPolicy>,
    inner: Arc<dyn Resolve>,
}

impl std::fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedResolver").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl GuardedResolver {
    /// The allowed addresses of `host`: `Err(NotAllowed)` if any address is refused, `Ok(None)`
    /// if the name does not resolve (decided when connecting).
    pub async fn allowed_addresses(&self, host: &str) -> Result<Option<Vec<SocketAddr>>, NotAllowed> {
        let Ok(name) = host.parse::<Name>() else { return Err(NotAllowed) };
        match self.resolve(name).await {
            Ok(addrs) => Ok(Some(addrs.collect())),
            Err(e) if is_not_allowed(e.as_ref()) => Err(NotAllowed),
            Err(_) => Ok(None),
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let lookup = self.inner.resolve(name);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup.await?.collect();
            if addrs.is_empty() || addrs.iter().any(|a| !policy.allows_address(a.ip())) {
                tracing::warn!("outbound connection refused: the host resolves to an address that is not allowed");
                return Err(Box::new(NotAllowed) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an error (or any of its sources) is the allow-list's refusal.
pub(crate) fn is_not_allowed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<NotAllowed>().is_some() {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_listed_https_hosts_pass() {
        let p = EgressPolicy::default();
        assert_eq!(p.check_url(&url("https://waba-v2.360dialog.io/messages")), Ok(()));
        assert_eq!(p.check_url(&url("https://WABA-V2.360dialog.io./v1/configs/templates")), Ok(()));
        assert_eq!(p.check_url(&url("https://waba-sandbox.360dialog.io:443/v1/messages")), Ok(()));
        for bad in [
            "http://waba-v2.360dialog.io/messages",
            "https://waba-v2.360dialog.io:8443/messages",
            "https://user:pw@waba-v2.360dialog.io/",
            "https://evil.example/",
            "https://waba-v2.360dialog.io.evil.example/",
            "https://127.0.0.1/",
            "http://127.0.0.1:4000/",
            "https://localhost/",
            "http://localhost:4000/",
            "https://10.0.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data",
            "http://[fd00:ec2::254]/",
            "https://[::1]/",
            "https://2130706433/",
            "https://0x7f.1/",
            "file:///etc/passwd",
        ] {
            assert_eq!(p.check_url(&url(bad)), Err(NotAllowed), "{bad}");
        }
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let p = EgressPolicy::new(["*.example.com", "api.example.org"]).unwrap();
        assert_eq!(p.check_url(&url("https://a.example.com/")), Ok(()));
        assert_eq!(p.check_url(&url("https://a.b.example.com/")), Ok(()));
        assert_eq!(p.check_url(&url("https://example.com/")), Err(NotAllowed));
        assert_eq!(p.check_url(&url("https://badexample.com/")), Err(NotAllowed));
        assert_eq!(p.check_url(&url("https://api.example.org/")), Ok(()));
        assert_eq!(p.check_url(&url("https://x.api.example.org/")), Err(NotAllowed));
    }

    #[test]
    fn bad_allow_list_entries_are_configuration_errors() {
        for bad in ["", "10.0.0.1", "::1", "https://x.example", "x.example:443", "a b", "*.", "1.2.3", "-x.example"] {
            assert!(EgressPolicy::new([bad]).is_err(), "{bad}");
        }
        assert!(EgressPolicy::new(["Waba-V2.360dialog.io."]).unwrap().hosts() == ["waba-v2.360dialog.io"]);
    }

    #[test]
    fn insecure_loopback_allows_the_simulator_only() {
        let p = EgressPolicy::insecure_loopback();
        for ok in ["http://127.0.0.1:4000/", "http://localhost:4000/x", "http://[::1]:9/", "https://127.0.0.2/"] {
            assert_eq!(p.check_url(&url(ok)), Ok(()), "{ok}");
        }
        for bad in ["http://10.0.0.1/", "http://169.254.169.254/", "http://waba-v2.360dialog.io/"] {
            assert_eq!(p.check_url(&url(bad)), Err(NotAllowed), "{bad}");
        }
        assert!(p.allows_address("127.0.0.1".parse().unwrap()));
        assert!(!p.allows_address("10.1.2.3".parse().unwrap()));
    }

    #[test]
    fn address_classes() {
        for refused in [
            "0.0.0.0",
            "127.0.0.1",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.170",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "100::1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused}");
            assert!(!EgressPolicy::default().allows_address(refused.parse().unwrap()), "{refused}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1", "::ffff:1.1.1.1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// A resolver answering from a table (a name resolving to a private address without DNS).
    struct Table(HashMap<&'static str, Vec<IpAddr>>);

    impl Resolve for Table {
        fn resolve(&self, name: Name) -> Resolving {
            let addrs: Vec<SocketAddr> =
                self.0.get(name.as_str()).cloned().unwrap_or_default().into_iter().map(|ip| (ip, 0).into()).collect();
            Box::pin(async move {
                if addrs.is_empty() {
                    return Err("no such host".into());
                }
                let addrs: Addrs = Box::new(addrs.into_iter());
                Ok(addrs)
            })
        }
    }

    #[tokio::test]
    async fn names_resolving_to_refused_addresses_are_refused() {
        let table = Table(HashMap::from([
            ("public.test", vec!["1.1.1.1".parse().unwrap()]),
            ("private.test", vec!["10.0.0.5".parse().unwrap()]),
            ("metadata.test", vec!["169.254.169.254".parse().unwrap()]),
            ("mixed.test", vec!["1.1.1.1".parse().unwrap(), "192.168.0.1".parse().unwrap()]),
            ("loop.test", vec!["127.0.0.1".parse().unwrap()]),
        ]));
        let guard = EgressPolicy::default().resolver(Arc::new(table));
        assert_eq!(guard.allowed_addresses("public.test").await.unwrap().unwrap().len(), 1);
        for refused in ["private.test", "metadata.test", "mixed.test", "loop.test"] {
            assert_eq!(guard.allowed_addresses(refused).await, Err(NotAllowed), "{refused}");
        }
        assert_eq!(guard.allowed_addresses("unknown.test").await, Ok(None));
    }

    #[tokio::test]
    async fn localhost_is_refused_through_the_system_resolver() {
        let guard = EgressPolicy::default().resolver(Arc::new(SystemResolver));
        assert_eq!(guard.allowed_addresses("localhost").await, Err(NotAllowed));
        let dev = EgressPolicy::insecure_loopback().resolver(Arc::new(SystemResolver));
        assert!(dev.allowed_addresses("localhost").await.unwrap().is_some_and(|a| !a.is_empty()));
    }
}
