//! What the browser allows, decided here so it is tested natively: when a request must
//! declare the local address space (Chrome's Local Network Access), what a failed `fetch`
//! most likely meant, and whether this page can reach the device itself or must hand over to
//! the page the device serves. The browser layer gathers the facts and does what this says.

use serde::{Deserialize, Serialize};

use crate::protocol::error::Error;

/// The host of an `http://` or `https://` URL, without port or brackets.
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(host, _)| host);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

/// Whether requests to `url` must carry `targetAddressSpace: "local"`: a private-range IP
/// literal (10/8, 172.16/12, 192.168/16, 169.254/16, IPv6 ULA and link-local) or a `.local`
/// name. Never loopback: the declared space must match the real one or Chrome fails the
/// request (browser-lab.md), and loopback is not "local" there.
pub fn declares_local(url: &str, caller_asks: Option<bool>) -> bool {
    let Some(host) = url_host(url) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    if is_loopback(&host) {
        return false;
    }
    if let Some(asked) = caller_asks {
        return asked;
    }
    if host.ends_with(".local") || host.ends_with(".local.") {
        return true;
    }
    if let Some([a, b, _, _]) = ipv4(&host) {
        return a == 10
            || (a == 172 && (16..32).contains(&b))
            || (a == 192 && b == 168)
            || (a == 169 && b == 254);
    }
    // IPv6 unique local (fc00::/7) and link-local (fe80::/10) literals.
    host.contains(':')
        && (host.starts_with("fc")
            || host.starts_with("fd")
            || host.starts_with("fe8")
            || host.starts_with("fe9")
            || host.starts_with("fea")
            || host.starts_with("feb"))
}

/// A dotted-quad IPv4 literal (written out: `std::net`'s parser weighs more in the wasm).
fn ipv4(host: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = host.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// Whether a host is loopback: `localhost`, `*.localhost`, 127/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || ipv4(host).is_some_and(|ip| ip[0] == 127)
}

/// What the page knew when a device request failed at the network level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureContext {
    /// The page is `https:` (a secure context).
    pub page_is_https: bool,
    /// The device URL is `http:`.
    pub device_is_http: bool,
    /// The request declared `targetAddressSpace: "local"`.
    pub declared_local: bool,
    /// `navigator.permissions.query({name: "local-network-access"})`: `None` where the
    /// browser has no such permission (WebKit, Firefox, older Chrome).
    pub permission: Option<Permission>,
    /// The device is loopback (a simulator on this machine).
    pub device_is_loopback: bool,
}

/// Local Network Access permission state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Granted.
    Granted,
    /// Denied.
    Denied,
    /// Not asked yet.
    Prompt,
}

/// Tells a `TypeError: Failed to fetch` apart as far as the platform allows: a denied Local
/// Network Access permission, a mixed-content block (an https page and an http device the
/// browser will not let it reach), or a device that does not answer.
pub fn classify_network_failure(context: FailureContext) -> Error {
    if context.permission == Some(Permission::Denied) {
        return Error::LocalNetworkDenied;
    }
    let mixed = context.page_is_https && context.device_is_http && !context.device_is_loopback;
    // Only Chromium with the permission lets an https page reach an http device, and only
    // with the declaration; everywhere else the browser blocks it before it leaves.
    if mixed && (context.permission.is_none() || !context.declared_local) {
        return Error::MixedContentBlocked;
    }
    Error::DeviceUnreachable
}

/// How the page reaches the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Path {
    /// The page calls the device itself.
    Direct,
    /// The page hands over to the page the device serves and reads the result when the
    /// customer comes back (Safari, every iPhone browser, Firefox).
    Handoff,
}

/// Whether this page can call the device itself. An https page needs Local Network Access
/// (Chromium 142+, whose `permissions.query` knows the name; WebKit and Firefox reject it);
/// an http page reaches the device everywhere but in Chromium, which refuses local requests
/// from insecure pages. A loopback device (a simulator) is always reachable.
pub fn choose_path(device_url: &str, page_is_https: bool, browser_has_lna: bool) -> Path {
    if url_host(device_url).is_some_and(|h| is_loopback(&h.to_ascii_lowercase())) {
        return Path::Direct;
    }
    if page_is_https == browser_has_lna {
        Path::Direct
    } else {
        Path::Handoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(url_host("http://192.168.0.1"), Some("192.168.0.1"));
        assert_eq!(url_host("http://192.168.0.1:80/x?y"), Some("192.168.0.1"));
        assert_eq!(
            url_host("http://user@photon.local:8080"),
            Some("photon.local")
        );
        assert_eq!(url_host("http://[fe80::1]:80/"), Some("fe80::1"));
        assert_eq!(url_host("192.168.0.1"), None);
    }

    #[test]
    fn local_declaration_for_private_ips_and_local_names_never_loopback() {
        for local in [
            "http://192.168.0.1",
            "http://10.0.0.5:8080",
            "http://172.16.3.4",
            "http://169.254.1.1",
            "http://photon-1234.local",
            "http://[fd00::1]",
            "http://[fe80::1]",
        ] {
            assert!(declares_local(local, None), "{local}");
        }
        for other in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "http://[::1]",
            "http://8.8.8.8",
            "http://device.test",
        ] {
            assert!(!declares_local(other, None), "{other}");
        }
        assert!(
            declares_local("http://device.test:8180", Some(true)),
            "the caller may ask"
        );
        assert!(
            !declares_local("http://127.0.0.1", Some(true)),
            "never for loopback"
        );
        assert!(
            !declares_local("http://192.168.0.1", Some(false)),
            "the caller may refuse"
        );
    }

    fn context() -> FailureContext {
        FailureContext {
            page_is_https: true,
            device_is_http: true,
            declared_local: true,
            permission: Some(Permission::Granted),
            device_is_loopback: false,
        }
    }

    #[test]
    fn network_failures_are_told_apart() {
        assert_eq!(
            classify_network_failure(context()),
            Error::DeviceUnreachable
        );
        let denied = FailureContext {
            permission: Some(Permission::Denied),
            ..context()
        };
        assert_eq!(classify_network_failure(denied), Error::LocalNetworkDenied);
        let webkit = FailureContext {
            permission: None,
            ..context()
        };
        assert_eq!(classify_network_failure(webkit), Error::MixedContentBlocked);
        let undeclared = FailureContext {
            declared_local: false,
            ..context()
        };
        assert_eq!(
            classify_network_failure(undeclared),
            Error::MixedContentBlocked
        );
        let http_page = FailureContext {
            page_is_https: false,
            permission: None,
            ..context()
        };
        assert_eq!(
            classify_network_failure(http_page),
            Error::DeviceUnreachable
        );
        let simulator = FailureContext {
            device_is_loopback: true,
            permission: None,
            ..context()
        };
        assert_eq!(
            classify_network_failure(simulator),
            Error::DeviceUnreachable
        );
    }

    #[test]
    fn the_path_follows_the_page_and_the_browser() {
        let device = "http://192.168.0.1";
        assert_eq!(
            choose_path(device, true, true),
            Path::Direct,
            "Chrome, https"
        );
        assert_eq!(
            choose_path(device, true, false),
            Path::Handoff,
            "Safari, Firefox, https"
        );
        assert_eq!(
            choose_path(device, false, false),
            Path::Direct,
            "an http page elsewhere"
        );
        assert_eq!(
            choose_path(device, false, true),
            Path::Handoff,
            "Chrome refuses http"
        );
        assert_eq!(
            choose_path("http://127.0.0.1:8180", true, false),
            Path::Direct
        );
    }
}
