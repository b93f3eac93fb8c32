//! Callback URLs that cannot be turned inward. A URL is absolute http(s),
//! at most 2048 characters, and — unless the operator allows private
//! callbacks — its host reaches only globally reachable addresses as the
//! IANA IPv4 and IPv6 special-purpose registries define them
//! ([`is_global`]), embedded IPv4 forms (IPv4-mapped, NAT64, IPv4-compatible,
//! 6to4, Teredo) included. Checked at report creation for a clear error,
//! and enforced at delivery by the HTTP client's resolver
//! ([`GlobalResolver`]): the addresses that were checked are the ones
//! connected to, so a name that flips to 127.0.0.1 between the check and
//! the connection (DNS rebinding) gets nowhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::LazyLock;

use ipnet::IpNet;

/// The longest callback URL accepted.
pub const MAX_URL: usize = 2048;

/// Blocks of the IANA special-purpose registries that are not globally
/// reachable (or have no such flag: deprecated, anycast relays), plus
/// multicast. A data table: containment is `ipnet`'s.
const NOT_GLOBAL: &[&str] = &[
    // IPv4 (iana-ipv4-special-registry)
    "0.0.0.0/8",       // this network
    "10.0.0.0/8",      // private use
    "100.64.0.0/10",   // shared address space (CGNAT)
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link local (cloud metadata)
    "172.16.0.0/12",   // private use
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation (TEST-NET-1)
    "192.88.99.0/24",  // deprecated 6to4 relay anycast
    "192.168.0.0/16",  // private use
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation (TEST-NET-2)
    "203.0.113.0/24",  // documentation (TEST-NET-3)
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and the limited broadcast address
    // IPv6 (iana-ipv6-special-registry)
    "::/128",         // unspecified
    "::1/128",        // loopback
    "::/96",          // IPv4-compatible (deprecated)
    "64:ff9b:1::/48", // local-use IPv4/IPv6 translation
    "100::/64",       // discard-only
    "100:0:0:1::/64", // dummy prefix
    "2001::/23",      // IETF protocol assignments (Teredo 2001::/32 included)
    "2001:db8::/32",  // documentation
    "2002::/16",      // 6to4
    "3fff::/20",      // documentation
    "5f00::/16",      // segment routing SIDs
    "fc00::/7",       // unique local
    "fe80::/10",      // link-local unicast
    "fec0::/10",      // site-local (deprecated)
    "ff00::/8",       // multicast
];

static BLOCKS: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    NOT_GLOBAL
        .iter()
        .filter_map(|b| b.parse::<IpNet>().ok())
        .collect()
});

/// True for an address a callback may reach by default: globally
/// reachable per the IANA registries, and for the forms that embed an
/// IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`),
/// that IPv4 address too.
pub fn is_global(ip: IpAddr) -> bool {
    let embedded = match ip {
        IpAddr::V4(_) => None,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().or_else(|| nat64(v6)),
    };
    if let Some(v4) = embedded {
        return is_global(IpAddr::V4(v4));
    }
    !BLOCKS.iter().any(|b| b.contains(&ip))
}

/// The IPv4 address of a NAT64 well-known-prefix address (RFC 6052).
fn nat64(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0]).then(|| {
        let o = v6.octets();
        Ipv4Addr::new(o[12], o[13], o[14], o[15])
    })
}

/// A URL as logs show it: scheme, host, port and path; never credentials,
/// a query string or a fragment, which may carry secrets.
pub fn display_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let query = if u.query().is_some() { "?…" } else { "" };
            format!("{}://{host}{port}{}{query}", u.scheme(), u.path())
        }
        Err(_) => "<not a URL>".into(),
    }
}

/// Checks a callback URL; the error says what is wrong and what is allowed.
pub async fn check_callback(text: &str, allow_private: bool) -> Result<url::Url, String> {
    if text.chars().count() > MAX_URL {
        return Err(format!("CallbackUrl is longer than {MAX_URL} characters"));
    }
    let shown = display_url(text);
    let url = url::Url::parse(text).map_err(|e| {
        format!("CallbackUrl '{shown}' is not an absolute URL ({e}); use https://host/path")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "CallbackUrl '{shown}' must use http or https, not '{}'",
            url.scheme()
        ));
    }
    let Some(host) = url.host() else {
        return Err(format!("CallbackUrl '{shown}' has no host"));
    };
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match host {
        url::Host::Ipv4(v4) => vec![IpAddr::V4(v4)],
        url::Host::Ipv6(v6) => vec![IpAddr::V6(v6)],
        url::Host::Domain(name) => resolve(name, port)
            .await
            .map_err(|_| format!("CallbackUrl host '{name}' does not resolve"))?,
    };
    let name = url.host_str().unwrap_or_default();
    if addrs.is_empty() {
        return Err(format!("CallbackUrl host '{name}' does not resolve"));
    }
    if let Some(bad) = addrs.into_iter().find(|ip| !is_global(*ip)) {
        return Err(format!(
            "CallbackUrl host '{name}' resolves to {bad}, which is not a globally reachable address (loopback, private, link-local, metadata, documentation, reserved or an IPv6 form embedding one); callbacks must reach a public address (the operator can allow private callbacks)"
        ));
    }
    Ok(url)
}

async fn resolve(name: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
    Ok(tokio::net::lookup_host((name, port))
        .await?
        .map(|a| a.ip())
        .collect())
}

/// The callback client's DNS resolver: a name's addresses, only when every
/// one is globally reachable. The client connects to exactly what this
/// answered, so the check and the connection cannot disagree.
#[derive(Debug, Default, Clone, Copy)]
pub struct GlobalResolver;

impl reqwest::dns::Resolve for GlobalResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs = resolve(&name, 0).await?;
            if addrs.is_empty() {
                return Err(format!("'{name}' does not resolve").into());
            }
            if let Some(bad) = addrs.iter().find(|ip| !is_global(**ip)) {
                return Err(format!(
                    "'{name}' resolves to {bad}, which is not a globally reachable address"
                )
                .into());
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_addresses_are_not_global() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "::7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:808:808::1",
            "2001::1",
            "2001:db8::1",
        ] {
            assert!(!is_global(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_global(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn logs_never_show_credentials_or_query_strings() {
        assert_eq!(
            display_url("https://user:pw@hooks.example.com:8443/cb?token=s3cret#x"),
            "https://hooks.example.com:8443/cb?…"
        );
    }

    #[tokio::test]
    async fn urls() {
        assert!(
            check_callback("ftp://x.com/a", true)
                .await
                .unwrap_err()
                .contains("http or https")
        );
        assert!(
            check_callback("/relative", true)
                .await
                .unwrap_err()
                .contains("absolute")
        );
        for inward in [
            "http://127.0.0.1:9/cb",
            "http://[::127.0.0.1]/cb",
            "http://[::7f00:1]/cb",
            "http://[64:ff9b::7f00:1]/cb",
            "http://[2002:7f00:1::]/cb",
            "http://[fec0::1]/cb",
            "http://198.18.0.1/cb",
            "http://localhost:9/cb",
        ] {
            assert!(check_callback(inward, false).await.is_err(), "{inward}");
        }
        assert!(check_callback("http://127.0.0.1:9/cb", true).await.is_ok());
        assert!(check_callback("http://8.8.8.8/cb", false).await.is_ok());
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_reaching_inward() {
        use reqwest::dns::Resolve as _;
        let r = GlobalResolver.resolve("localhost".parse().unwrap()).await;
        assert!(r.is_err());
    }
}
