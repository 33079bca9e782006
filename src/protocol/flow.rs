//! The steps of a whole setup, in order, as `SetupFlow` reports them, and the claim codes
//! fetched ahead for an installation of several devices.

use std::collections::VecDeque;

use crate::protocol::credentials::ClaimCode;

/// A step of the setup, as progress events and errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Online: claim codes are fetched.
    Preparing,
    /// The customer is joining the device's network; the device is polled.
    WaitingForDevice,
    /// The device answered; its key was checked.
    DeviceFound,
    /// The device lists the networks it sees.
    Scanning,
    /// Claim code and network sent.
    Configuring,
    /// `connect-ap` sent: the device leaves its access point.
    Connecting,
    /// Back online: waiting for the device to reach the cloud, claimed.
    WaitingForCloud,
    /// Done: the device is online and the customer's.
    Claimed,
    /// A step failed.
    Failed,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 9] = [
        Self::Preparing,
        Self::WaitingForDevice,
        Self::DeviceFound,
        Self::Scanning,
        Self::Configuring,
        Self::Connecting,
        Self::WaitingForCloud,
        Self::Claimed,
        Self::Failed,
    ];

    /// The step's name in events and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Preparing => "preparing",
            Self::WaitingForDevice => "waiting-for-device",
            Self::DeviceFound => "device-found",
            Self::Scanning => "scanning",
            Self::Configuring => "configuring",
            Self::Connecting => "connecting",
            Self::WaitingForCloud => "waiting-for-cloud",
            Self::Claimed => "claimed",
            Self::Failed => "failed",
        }
    }
}

/// Claim codes fetched while online, one per device still to set up. Each code is single
/// use (cloud spec §4.4), so a code is handed out once.
#[derive(Debug, Default)]
pub struct ClaimCodes {
    codes: VecDeque<ClaimCode>,
}

impl ClaimCodes {
    /// Adds a code fetched ahead.
    pub fn push(&mut self, code: ClaimCode) {
        self.codes.push_back(code);
    }

    /// The code for the next device, if one was fetched.
    pub fn take(&mut self) -> Option<ClaimCode> {
        self.codes.pop_front()
    }

    /// How many are left.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether none is left.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_have_the_names_of_the_js_api_in_order() {
        let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "preparing",
                "waiting-for-device",
                "device-found",
                "scanning",
                "configuring",
                "connecting",
                "waiting-for-cloud",
                "claimed",
                "failed"
            ]
        );
    }

    #[test]
    fn each_claim_code_is_handed_out_once_in_order() {
        let mut codes = ClaimCodes::default();
        codes.push(ClaimCode::new("first").unwrap());
        codes.push(ClaimCode::new("second").unwrap());
        assert_eq!(codes.len(), 2);
        assert_eq!(codes.take().unwrap().expose(), "first");
        assert_eq!(codes.take().unwrap().expose(), "second");
        assert!(codes.take().is_none() && codes.is_empty());
    }
}
