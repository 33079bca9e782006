//! Transport policy, decided here so it is tested natively: per-command timeouts, which
//! failures are retried and after how long, when a request must declare the local address
//! space (Chrome's Local Network Access), and what a failed `fetch` most likely meant.
//! The browser layer gathers the facts and does what this module says.

use crate::protocol::command::Command;
use crate::protocol::error::Error;

/// Default timeout of quick commands, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 8_000;
/// Default number of retries of idempotent commands.
pub const DEFAULT_RETRIES: u32 = 2;

/// How long to wait for `command`, given the caller's base timeout. A scan takes seconds
/// in a crowded place (spec §4.3), and `configure-ap` on 0.7 scans twice for WPA networks,
/// each bounded by 30 s on the device (spec §4.6): those get at least that long.
pub fn timeout_ms(command: Command, base_ms: u32) -> u32 {
    match command {
        Command::ScanAp => base_ms.max(30_000),
        Command::ConfigureAp => base_ms.max(65_000),
        _ => base_ms,
    }
}

/// How a request to the device failed, as the browser layer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Our timer fired before the reply was complete.
    TimedOut,
    /// `fetch` rejected (network error, refused, blocked), or the body broke off.
    Network,
    /// An HTTP status other than 200 (the device's core 404, the busy 503).
    Status(u16),
}

/// Whether to send `command` again after `failure` on attempt `attempt` (0-based), given
/// `retries` allowed. Only idempotent commands, and never `connect-ap`: its effect happens
/// even when the reply is lost (spec §4.7).
pub fn should_retry(command: Command, failure: Failure, attempt: u32, retries: u32) -> bool {
    if !command.is_idempotent() || attempt >= retries {
        return false;
    }
    match failure {
        Failure::TimedOut | Failure::Network => true,
        // 503: every connection slot busy, "Retry-After: 1". A 404 will not change.
        Failure::Status(status) => status == 503,
    }
}

/// Pause before retry number `attempt` (0-based): 250 ms, 500 ms, 1 s, ... capped at 4 s;
/// a busy device asked for 1 s.
pub fn backoff_ms(failure: Failure, attempt: u32) -> u32 {
    let exponential = 250u32.saturating_mul(1 << attempt.min(4)).min(4_000);
    match failure {
        Failure::Status(503) => exponential.max(1_000),
        _ => exponential,
    }
}

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_commands_get_longer_timeouts() {
        assert_eq!(timeout_ms(Command::DeviceId, 8_000), 8_000);
        assert_eq!(timeout_ms(Command::ScanAp, 8_000), 30_000);
        assert_eq!(timeout_ms(Command::ConfigureAp, 8_000), 65_000);
        assert_eq!(
            timeout_ms(Command::ScanAp, 90_000),
            90_000,
            "a longer base wins"
        );
    }

    #[test]
    fn only_idempotent_commands_are_retried_and_never_connect_ap() {
        for command in Command::ALL {
            let retried = should_retry(command, Failure::TimedOut, 0, 2);
            assert_eq!(retried, command != Command::ConnectAp, "{command}");
        }
        assert!(
            !should_retry(Command::DeviceId, Failure::Network, 2, 2),
            "retries used up"
        );
        assert!(should_retry(Command::ScanAp, Failure::Status(503), 0, 2));
        assert!(
            !should_retry(Command::ScanAp, Failure::Status(404), 0, 2),
            "a 404 stays a 404"
        );
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        assert_eq!(
            (0..7)
                .map(|a| backoff_ms(Failure::TimedOut, a))
                .collect::<Vec<_>>(),
            [250, 500, 1000, 2000, 4000, 4000, 4000]
        );
        assert_eq!(backoff_ms(Failure::Status(503), 0), 1000);
    }

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
}
