//! The SoftAP protocol without I/O: requests to build, replies to read, secrets to encrypt,
//! input to check, and the whole setup as one state machine ([`setup::Setup`]). Nothing here
//! touches a network, a clock or a global random source; the browser layer, native tools and
//! tests drive it the same way.

pub mod browser;
pub mod cloud;
pub mod command;
pub mod configure;
pub mod credentials;
pub mod error;
pub mod handoff;
pub(crate) mod json;
pub mod key;
pub mod policy;
pub mod reply;
pub mod scan;
pub mod security;
pub mod setup;

pub use command::{Command, Method, Request, CONTENT_TYPE};
pub use credentials::{
    ClaimCode, Credentials, EapMethod, NameOrNumber, Network, NetworkOptions, Secret, Ssid,
};
pub use error::{Error, Field, KeyProblem};
pub use json::Progress;
pub use key::{DeviceKey, Fingerprint};
pub use reply::{read_reply, DeviceInfo, Reply, ReplyReader};
pub use scan::{networks, ScanEntry, ScanReader};
pub use security::{Security, SecurityClass};
pub use setup::{Event, Operation, Outcome, Setup, SetupConfig, Step, Transmit};
