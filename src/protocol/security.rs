//! Wi-Fi security as the device reports and takes it: the WICED bit field (spec §5).
//!
//! A value is a bit field, not an enum: scans can report combinations no table lists, and the
//! device itself only looks at coarse classes (spec §5.3). Names map both ways; an unknown
//! name is an error, never a silent open network (the reference client's bug, spec §10.4).

use core::fmt;

use crate::protocol::error::Error;

/// WICED security flag bits (spec §5.1).
pub mod flags {
    /// WEP.
    pub const WEP: u32 = 0x0000_0001;
    /// TKIP cipher.
    pub const TKIP: u32 = 0x0000_0002;
    /// AES (CCMP) cipher.
    pub const AES: u32 = 0x0000_0004;
    /// WEP shared-key authentication.
    pub const SHARED: u32 = 0x0000_8000;
    /// WPA.
    pub const WPA: u32 = 0x0020_0000;
    /// WPA2.
    pub const WPA2: u32 = 0x0040_0000;
    /// 802.1X enterprise authentication.
    pub const ENTERPRISE: u32 = 0x0200_0000;
    /// WPS.
    pub const WPS: u32 = 0x1000_0000;
    /// Ad-hoc (IBSS) network.
    pub const IBSS: u32 = 0x2000_0000;
}

/// A security value as the device's `sec` field carries it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Security(i64);

/// How a security value has to be configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityClass {
    /// No password.
    Open,
    /// A WEP key.
    Wep,
    /// A WPA/WPA2 passphrase.
    Personal,
    /// WPA/WPA2-Enterprise: PEAP or EAP-TLS.
    Enterprise,
}

/// The names of the table, canonical first (spec §5.2). `value → name` takes the first.
const NAMES: &[(&str, i64)] = &[
    ("open", 0),
    ("wep_psk", 0x0000_0001),
    ("wep_shared", 0x0000_8001),
    ("wpa_tkip", 0x0020_0002),
    ("wpa_aes", 0x0020_0004),
    ("wpa_mixed", 0x0020_0006),
    ("wpa2_aes", 0x0040_0004),
    ("wpa2_tkip", 0x0040_0002),
    ("wpa2_mixed", 0x0040_0006),
    ("wpa_enterprise_tkip", 0x0220_0002),
    ("wpa_enterprise_aes", 0x0220_0004),
    ("wpa_enterprise_mixed", 0x0220_0006),
    ("wpa2_enterprise_tkip", 0x0240_0002),
    ("wpa2_enterprise_aes", 0x0240_0004),
    ("wpa2_enterprise_mixed", 0x0240_0006),
    ("ibss_open", 0x2000_0000),
    ("wps_open", 0x1000_0000),
    ("wps_secure", 0x1000_0004),
    ("unknown", -1),
    // Aliases: the reference client's and the CLI's short names.
    ("none", 0),
    ("wep", 0x0000_0001),
    ("wpa", 0x0020_0006),
    ("wpa2", 0x0040_0006),
    ("wpa_enterprise", 0x0220_0006),
    ("wpa2_enterprise", 0x0240_0006),
];

impl Security {
    /// No security.
    pub const OPEN: Self = Self(0);
    /// WPA2 with AES or TKIP, the common home network.
    pub const WPA2_MIXED_PSK: Self = Self(0x0040_0006);
    /// WPA2-Enterprise with AES or TKIP.
    pub const WPA2_MIXED_ENTERPRISE: Self = Self(0x0240_0006);
    /// What a scan reports when the device cannot tell.
    pub const UNKNOWN: Self = Self(-1);

    /// A value as the device sends it; `None` if it cannot be one (outside `-1..=u32::MAX`).
    pub fn from_value(value: i64) -> Option<Self> {
        (value == -1 || (0..=u32::MAX as i64).contains(&value)).then_some(Self(value))
    }

    /// Looks a name up: case, `-` and spaces do not matter; a decimal number is taken too.
    ///
    /// # Errors
    /// [`Error::UnknownSecurity`] for anything not in the table.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let normalized: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == '-' || c == ' ' {
                    '_'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        if let Some(&(_, value)) = NAMES.iter().find(|(n, _)| *n == normalized) {
            return Ok(Self(value));
        }
        if let Some(security) = normalized.parse::<i64>().ok().and_then(Self::from_value) {
            return Ok(security);
        }
        Err(Error::UnknownSecurity {
            name: name.chars().take(32).collect(),
        })
    }

    /// The number the device's `sec` field carries.
    pub fn value(self) -> i64 {
        self.0
    }

    /// The canonical name, if the value is in the table.
    pub fn name(self) -> Option<&'static str> {
        NAMES.iter().find(|&&(_, v)| v == self.0).map(|&(n, _)| n)
    }

    fn bits(self) -> u32 {
        if self.0 < 0 {
            0
        } else {
            self.0 as u32
        }
    }

    /// Whether a flag bit is set; `unknown` has none.
    pub fn has(self, flag: u32) -> bool {
        self.bits() & flag != 0
    }

    /// How this network is configured, or why it cannot be.
    ///
    /// # Errors
    /// [`Error::UnsupportedSecurity`] for `unknown` (the device would take it for WEP,
    /// spec §5.3) and for ad-hoc networks.
    pub fn class(self) -> Result<SecurityClass, Error> {
        let unsupported = Error::UnsupportedSecurity { value: self.0 };
        if self.0 < 0 || self.has(flags::IBSS) {
            return Err(unsupported);
        }
        Ok(if self.has(flags::ENTERPRISE) {
            SecurityClass::Enterprise
        } else if self.has(flags::WPA | flags::WPA2 | flags::AES | flags::TKIP) {
            SecurityClass::Personal
        } else if self.has(flags::WEP) {
            SecurityClass::Wep
        } else {
            SecurityClass::Open
        })
    }

    /// Whether a scan entry with this value shows a lock.
    pub fn is_secured(self) -> bool {
        self.0 != 0 && self.0 != flags::WPS as i64
    }
}

impl fmt::Debug for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §5.2, row by row: name, decimal value, class.
    const TABLE: &[(&str, i64, Option<SecurityClass>)] = &[
        ("open", 0, Some(SecurityClass::Open)),
        ("wep_psk", 1, Some(SecurityClass::Wep)),
        ("wep_shared", 32769, Some(SecurityClass::Wep)),
        ("wpa_tkip", 2097154, Some(SecurityClass::Personal)),
        ("wpa_aes", 2097156, Some(SecurityClass::Personal)),
        ("wpa_mixed", 2097158, Some(SecurityClass::Personal)),
        ("wpa2_aes", 4194308, Some(SecurityClass::Personal)),
        ("wpa2_tkip", 4194306, Some(SecurityClass::Personal)),
        ("wpa2_mixed", 4194310, Some(SecurityClass::Personal)),
        (
            "wpa_enterprise_tkip",
            35651586,
            Some(SecurityClass::Enterprise),
        ),
        (
            "wpa_enterprise_aes",
            35651588,
            Some(SecurityClass::Enterprise),
        ),
        (
            "wpa_enterprise_mixed",
            35651590,
            Some(SecurityClass::Enterprise),
        ),
        (
            "wpa2_enterprise_tkip",
            37748738,
            Some(SecurityClass::Enterprise),
        ),
        (
            "wpa2_enterprise_aes",
            37748740,
            Some(SecurityClass::Enterprise),
        ),
        (
            "wpa2_enterprise_mixed",
            37748742,
            Some(SecurityClass::Enterprise),
        ),
        ("ibss_open", 536870912, None),
        ("wps_open", 268435456, Some(SecurityClass::Open)),
        ("wps_secure", 268435460, Some(SecurityClass::Personal)),
        ("unknown", -1, None),
    ];

    #[test]
    fn the_whole_table_maps_both_ways_with_its_class() {
        for &(name, value, class) in TABLE {
            let security = Security::from_name(name).unwrap();
            assert_eq!(security.value(), value, "{name}");
            assert_eq!(
                Security::from_value(value).unwrap().name(),
                Some(name),
                "{value}"
            );
            assert_eq!(security.class().ok(), class, "{name}");
        }
    }

    #[test]
    fn aliases_case_and_separators_do_not_matter() {
        assert_eq!(
            Security::from_name("WPA2").unwrap(),
            Security::WPA2_MIXED_PSK
        );
        assert_eq!(Security::from_name(" none ").unwrap(), Security::OPEN);
        assert_eq!(
            Security::from_name("WPA2-Enterprise").unwrap(),
            Security::WPA2_MIXED_ENTERPRISE
        );
        assert_eq!(
            Security::from_name("wpa2 aes").unwrap().value(),
            0x0040_0004
        );
        assert_eq!(
            Security::from_name("4194310").unwrap(),
            Security::WPA2_MIXED_PSK
        );
    }

    #[test]
    fn an_unknown_name_is_an_error_not_an_open_network() {
        for name in ["wpa3", "", "open-ish", "leap", "0x400006", "99999999999"] {
            assert_eq!(
                Security::from_name(name).unwrap_err().code(),
                "unknown-security",
                "{name:?}"
            );
        }
        let long = "x".repeat(100);
        match Security::from_name(&long) {
            Err(Error::UnknownSecurity { name }) => assert_eq!(name.len(), 32),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn it_is_a_bit_field() {
        let wps_wpa2 = Security::from_value(0x1040_0004).unwrap();
        assert_eq!(wps_wpa2.name(), None);
        assert_eq!(wps_wpa2.to_string(), "0x10400004");
        assert!(wps_wpa2.has(flags::WPA2) && wps_wpa2.has(flags::WPS));
        assert_eq!(wps_wpa2.class(), Ok(SecurityClass::Personal));
        // SJS's bare "enterprise" mask
        assert_eq!(
            Security::from_value(0x0200_0000).unwrap().class(),
            Ok(SecurityClass::Enterprise)
        );
        assert!(
            !Security::UNKNOWN.has(flags::WEP),
            "-1 must not read as every flag"
        );
    }

    #[test]
    fn values_outside_the_wire_range_are_refused() {
        assert_eq!(Security::from_value(-2), None);
        assert_eq!(Security::from_value(1 << 32), None);
        assert!(Security::from_value(u32::MAX as i64).is_some());
    }

    #[test]
    fn locks_show_for_everything_but_open() {
        assert!(!Security::OPEN.is_secured());
        assert!(!Security::from_name("wps_open").unwrap().is_secured());
        assert!(Security::from_name("wep_psk").unwrap().is_secured());
        assert!(Security::UNKNOWN.is_secured());
    }
}
