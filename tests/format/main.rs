//! Tests of the format and the reader through the library API: one
//! harness with a module per concern.

mod canonical;
mod forward_compat;
mod fuzz_replay;
mod reader_chunks;
mod roundtrip;
