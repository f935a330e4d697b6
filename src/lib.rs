//! sdrate: a batch rating engine for telecom Service Detail Records.
//!
//! The modules follow the path a record takes: [`read`] frames and decodes
//! it, and [`sdr`] holds its types (from `asn1/sdr.asn`).
pub mod allocator;
/// The SDR format (its own crate, `sdrate-format`).
pub use sdrate_format as sdr;
/// Generated SDRs (in the format crate).
pub use sdrate_format::generate;
pub mod cli;
pub mod cmd;
pub mod exit;
pub mod explain;
pub mod group;
pub mod money;
pub mod pipeline;
pub mod price;
pub mod rate;
pub mod read;
pub mod reprice;
pub mod resolve;
pub mod ui;
pub mod write;
