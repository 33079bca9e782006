//! The browser layer: wasm-bindgen exports over [`crate::protocol`]. It converts values
//! and errors and supplies the system's randomness; protocol logic stays in the core.

pub mod error;
pub mod key;
pub mod security;

pub(crate) use error::JsResult;
