//! sdrate: a batch rating engine for telecom Service Detail Records.
//!
//! The modules follow the path a record takes: [`read`] frames and decodes
//! it, and [`sdr`] holds its types (from `asn1/sdr.asn`).
pub mod allocator;
pub mod cli;
pub mod cmd;
pub mod exit;
pub mod explain;
pub mod generate;
pub mod group;
pub mod money;
pub mod pipeline;
pub mod price;
pub mod rate;
pub mod read;
pub mod reprice;
pub mod resolve;
pub mod sdr;
pub mod ui;
pub mod write;
