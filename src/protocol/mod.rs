//! The SoftAP protocol without I/O: requests to build, replies to read, secrets to encrypt
//! and input to check. Nothing here touches a network, a clock or a global random source;
//! the browser layer, native tools and tests drive it the same way.

pub mod cloud;
pub mod command;
pub mod configure;
pub mod credentials;
mod der;
pub mod error;
pub mod flow;
pub mod hex;
pub(crate) mod json;
pub mod key;
pub mod reply;
mod rsa_public;
pub mod scan;
pub mod security;
pub mod transport;

pub use command::{Command, Method, Request, CONTENT_TYPE};
pub use credentials::{
    ClaimCode, Credentials, EapMethod, NameOrNumber, Network, NetworkOptions, Secret, Ssid,
};
pub use error::{Error, Field, KeyProblem};
pub use json::Progress;
pub use key::DeviceKey;
pub use reply::{read_reply, DeviceInfo, Reply};
pub use scan::{networks, ScanEntry};
pub use security::{Security, SecurityClass};
