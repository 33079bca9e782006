//! softap-sim: a Particle Photon in listening mode and the cloud subset that two-legged
//! setup uses, faithful to the quirks in `shared/spec`, for tests and for makers without
//! hardware.

pub mod cloud;
pub mod device;
pub mod http;
pub mod httpd;
pub mod jsmn;
pub mod life;
pub mod pages;
pub mod server;
pub mod simulator;
pub mod static_files;

pub use simulator::{Config, DeviceConfig, Simulator};
