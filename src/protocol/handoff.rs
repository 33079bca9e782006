//! The handoff, for browsers whose https pages cannot reach the device (Safari, every iPhone
//! browser, Firefox): the maker's page, while online, gets the claim code, then sends the
//! customer by a top-level navigation to the page the device serves, with everything in the
//! URL fragment (never sent over the network). The device page comes back with the result in
//! the fragment.
//!
//! Link: `<device page>?r=<nonce>#v=1&cc=<claim code>&back=<this page>[&fp=<fingerprint>]
//! [&lang=<xx>][&ssid=…&sec=…[&pwd=…][&eap=25&ii=…[&oi=…]]]`. The fresh random query keeps a
//! browser from showing a page it cached from an earlier device (or an impostor). Sealed mode
//! puts the home network in the link with its password already encrypted for the key the
//! maker recorded for the device, so a fake `Photon-XXXXXX` never sees it.
//!
//! Return: `<back>#softap=1&result=ok|connecting|error[&code=<error code>][&device=<id>]`.
//! Both are `application/x-www-form-urlencoded`, as `URLSearchParams` writes them.

use rand_core::TryCryptoRng;
use serde::{Deserialize, Serialize};

use crate::protocol::credentials::{ClaimCode, Credentials, EapMethod, NetworkOptions};
use crate::protocol::error::Error;
use crate::protocol::key::{DeviceKey, Fingerprint};

/// The home network sealed for one device's key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sealed {
    /// Network name.
    pub ssid: String,
    /// Security value.
    pub sec: i64,
    /// RSA PKCS#1 v1.5 ciphertext of the password (or WEP key record), hex; absent for an open
    /// network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwd: Option<String>,
    /// 25 for PEAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eap: Option<i64>,
    /// PEAP user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ii: Option<String>,
    /// PEAP outer identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oi: Option<String>,
    /// The key it was sealed for: the device page sends nothing to a device with another.
    pub fingerprint: String,
}

impl core::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealed")
            .field("ssid", &self.ssid)
            .field("sec", &self.sec)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Checks the network as the device would and encrypts its password for `key`. EAP-TLS cannot
/// be sealed (the device page does not relay certificates): it stays on the direct path.
///
/// # Errors
/// The network's own errors; [`Error::SecurityMismatch`] for EAP-TLS; encryption errors.
pub fn seal<R: TryCryptoRng + ?Sized>(
    key: &DeviceKey,
    network: &NetworkOptions,
    rng: &mut R,
) -> Result<Sealed, Error> {
    let network = network.validate()?;
    let mut sealed = Sealed {
        ssid: network.ssid.as_str().to_owned(),
        sec: network.security.value(),
        pwd: None,
        eap: None,
        ii: None,
        oi: None,
        fingerprint: key.fingerprint().to_hex(),
    };
    match &network.credentials {
        Credentials::Open => {}
        Credentials::Wep(secret) | Credentials::Passphrase(secret) => {
            sealed.pwd = Some(key.encrypt_hex(rng, secret.expose().as_bytes())?);
        }
        Credentials::Peap {
            outer_identity,
            inner_identity,
            password,
            ca_certificate: None,
        } => {
            sealed.pwd = Some(key.encrypt_hex(rng, password.expose().as_bytes())?);
            sealed.eap = Some(EapMethod::Peap.value());
            sealed.ii = Some(inner_identity.clone());
            sealed.oi = outer_identity.clone();
        }
        Credentials::Peap { .. } | Credentials::Tls { .. } => return Err(Error::SecurityMismatch),
    }
    Ok(sealed)
}

/// Everything the handoff link carries.
#[derive(Clone, Debug)]
pub struct HandoffLink<'a> {
    /// The device, e.g. `http://192.168.0.1`.
    pub device_url: &'a str,
    /// The device page's path: `/setup` unless the firmware serves it elsewhere.
    pub page: &'a str,
    /// A fresh random value for the query (URL-safe characters).
    pub nonce: &'a str,
    /// The claim code fetched while online.
    pub claim_code: &'a ClaimCode,
    /// Where the device page returns to: this page, without its fragment.
    pub back: &'a str,
    /// The key the device must have, when known.
    pub fingerprint: Option<Fingerprint>,
    /// The customer's language.
    pub lang: Option<&'a str>,
    /// Sealed mode.
    pub sealed: Option<&'a Sealed>,
}

/// The device page's URL with the handoff in its fragment.
///
/// # Errors
/// [`Error::HandoffInvalid`] for a nonce that is not URL-safe, a `back` that is not an
/// absolute http(s) URL, or sealed mode without a fingerprint.
pub fn handoff_url(link: &HandoffLink<'_>) -> Result<String, Error> {
    let url_safe = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let absolute = link.back.starts_with("https://") || link.back.starts_with("http://");
    if !url_safe(link.nonce) || !absolute || (link.sealed.is_some() && link.fingerprint.is_none()) {
        return Err(Error::HandoffInvalid);
    }
    let back = link.back.split('#').next().unwrap_or(link.back);
    let mut fragment = form_urlencoded::Serializer::new(String::new());
    fragment
        .append_pair("v", "1")
        .append_pair("cc", link.claim_code.expose())
        .append_pair("back", back);
    if let Some(fingerprint) = link.fingerprint {
        fragment.append_pair("fp", &fingerprint.to_hex());
    }
    if let Some(lang) = link.lang {
        fragment.append_pair("lang", lang);
    }
    if let Some(sealed) = link.sealed {
        fragment
            .append_pair("ssid", &sealed.ssid)
            .append_pair("sec", &sealed.sec.to_string());
        if let Some(pwd) = &sealed.pwd {
            fragment.append_pair("pwd", pwd);
        }
        if let Some(eap) = sealed.eap {
            fragment.append_pair("eap", &eap.to_string());
        }
        if let Some(oi) = &sealed.oi {
            fragment.append_pair("oi", oi);
        }
        if let Some(ii) = &sealed.ii {
            fragment.append_pair("ii", ii);
        }
    }
    let device = link.device_url.trim_end_matches('/');
    let page = link.page.trim_start_matches('/');
    Ok(format!(
        "{device}/{page}?r={}#{}",
        link.nonce,
        fragment.finish()
    ))
}

/// What the device page reported when it sent the customer back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all_fields = "camelCase", tag = "result")]
pub enum Return {
    /// Configured; the device is joining.
    #[serde(rename = "ok")]
    Ok {
        /// Lower-case device id.
        device_id: String,
    },
    /// `connect-ap`'s reply was lost: it is most likely joining (verify in the cloud).
    #[serde(rename = "connecting")]
    Connecting {
        /// Lower-case device id.
        device_id: String,
    },
    /// The device page stopped with an error.
    #[serde(rename = "error")]
    Error {
        /// One of [`Error::CODES`].
        code: &'static str,
        /// The device, when it was reached.
        #[serde(skip_serializing_if = "Option::is_none")]
        device_id: Option<String>,
    },
}

/// The longest fragment read: a return is under 100 bytes.
const MAX_RETURN: usize = 512;

/// Where the device serves its page, unless the maker's firmware says otherwise.
pub const DEVICE_PAGE: &str = "/setup";

/// Reads a page's fragment (with or without its `#`): `Ok(None)` when it is no return.
///
/// # Errors
/// [`Error::HandoffInvalid`] for a return that does not validate: an unknown result or code
/// (only the library's own codes are accepted, never a name an object happens to have), a
/// device id that is not 24 hex digits, a key given twice.
pub fn read_return(fragment: &str) -> Result<Option<Return>, Error> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    if fragment.len() > MAX_RETURN {
        // Not ours unless it says so; a return this long is not one the device page wrote.
        return match fragment.contains("softap=") {
            true => Err(Error::HandoffInvalid),
            false => Ok(None),
        };
    }
    let (mut softap, mut result, mut code, mut device) = (None, None, None, None);
    let mut repeated = false;
    for (key, value) in form_urlencoded::parse(fragment.as_bytes()) {
        let slot = match key.as_ref() {
            "softap" => &mut softap,
            "result" => &mut result,
            "code" => &mut code,
            "device" => &mut device,
            _ => continue,
        };
        repeated |= slot.replace(value.into_owned()).is_some();
    }
    if softap.is_some() && repeated {
        return Err(Error::HandoffInvalid);
    }
    match softap.as_deref() {
        None => return Ok(None),
        Some("1") => {}
        Some(_) => return Err(Error::HandoffInvalid),
    }
    let device_id = match device {
        Some(id) if id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(id.to_ascii_lowercase())
        }
        Some(_) => return Err(Error::HandoffInvalid),
        None => None,
    };
    let invalid = Error::HandoffInvalid;
    match result.as_deref() {
        Some("ok") => Ok(Some(Return::Ok {
            device_id: device_id.ok_or(invalid)?,
        })),
        Some("connecting") => Ok(Some(Return::Connecting {
            device_id: device_id.ok_or(invalid)?,
        })),
        Some("error") => {
            let code = code.ok_or(Error::HandoffInvalid)?;
            let code = Error::CODES
                .iter()
                .find(|known| **known == code)
                .ok_or(Error::HandoffInvalid)?;
            Ok(Some(Return::Error { code, device_id }))
        }
        _ => Err(invalid),
    }
}
