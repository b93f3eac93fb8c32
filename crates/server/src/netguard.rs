//! Callback URL checks: absolute http(s), at most 2048 characters, and —
//! unless the operator allows private callbacks — a host that resolves only
//! to public addresses (no loopback, private, link-local, CGNAT, unique
//! local or cloud metadata addresses). Used at report creation and again
//! before each delivery, since DNS answers can change.

use std::net::IpAddr;

/// The longest callback URL accepted.
pub const MAX_URL: usize = 2048;

/// True for addresses a callback must not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Checks a callback URL; the error says what is wrong and what is allowed.
pub async fn check_callback(text: &str, allow_private: bool) -> Result<url::Url, String> {
    if text.chars().count() > MAX_URL {
        return Err(format!("CallbackUrl is longer than {MAX_URL} characters"));
    }
    let url = url::Url::parse(text).map_err(|e| {
        format!("CallbackUrl '{text}' is not an absolute URL ({e}); use https://host/path")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "CallbackUrl '{text}' must use http or https, not '{}'",
            url.scheme()
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(format!("CallbackUrl '{text}' has no host"));
    };
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|_| format!("CallbackUrl host '{host}' does not resolve"))?
            .map(|a| a.ip())
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("CallbackUrl host '{host}' does not resolve"));
    }
    if let Some(bad) = addrs.into_iter().find(|ip| is_private(*ip)) {
        return Err(format!(
            "CallbackUrl host '{host}' resolves to {bad}, a loopback, private, link-local or metadata address; callbacks must reach a public address (the operator can allow private callbacks)"
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
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
        assert!(
            check_callback("http://127.0.0.1:9/cb", false)
                .await
                .unwrap_err()
                .contains("127.0.0.1")
        );
        assert!(
            check_callback("http://localhost:9/cb", false)
                .await
                .is_err()
        );
        assert!(check_callback("http://127.0.0.1:9/cb", true).await.is_ok());
        assert!(check_callback("http://8.8.8.8/cb", false).await.is_ok());
    }
}
