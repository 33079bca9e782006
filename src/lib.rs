//! # softap-web
//!
//! Set up Particle Photon/P1 Wi-Fi devices from a web page: the SoftAP setup protocol, its
//! cryptography and its quirks, compiled to WebAssembly.
//!
//! [`protocol`] is the protocol without I/O, tested natively. On `wasm32`, `web` wraps it for
//! the browser: `fetch`, exports and TypeScript types.

#![warn(missing_docs)]

pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(all(target_arch = "wasm32", feature = "small-allocator"))]
#[global_allocator]
// SAFETY: this wasm module runs on one thread (no shared memory, no atomics).
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
