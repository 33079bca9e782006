//! The browser layer: a thin driver around the core's setup machine ([`driver`]), `fetch`
//! through `gloo-net` ([`fetch`]), values to and from JS through `serde-wasm-bindgen`
//! ([`options`], [`outcome`]), and the exported classes. Every policy is the core's.

pub mod cloud;
mod driver;
pub mod error;
mod fetch;
pub mod flow;
pub mod handoff;
mod options;
mod outcome;
pub mod softap;
mod types;
mod warm;
