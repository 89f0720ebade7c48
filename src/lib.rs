//! bcrypt for Node.js on a Rust thread pool of its own, several hashes interleaved per core.
//!
//! The work is plain Rust: `kernel` (EksBlowfish over 1..=MAX_LANES lanes), `format` (bcrypt's
//! strings and key derivation), `pool` (threads that feed jobs to the kernel as lanes) and
//! `calibrate` (a cost for a target time; `cputime` is the clock it and the pool's lane tuning
//! share). `bindings`
//! is the thin napi layer, compiled only with the `node` feature that `napi build` turns on, so that
//! `cargo test` links without Node's symbols.

pub mod calibrate;
mod cputime;
pub mod format;
pub mod kdf;
pub mod kernel;
pub mod pool;

#[cfg(feature = "node")]
mod bindings;
