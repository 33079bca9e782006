//! The browser layer: wasm-bindgen exports over [`crate::protocol`]. It sends what the
//! core builds, feeds back what arrives, converts values and errors, and supplies the
//! system's randomness and clock; protocol logic stays in the core.

pub mod cloud;
mod convert;
pub mod error;
mod fetch;
pub mod flow;
pub mod softap;
mod types;
