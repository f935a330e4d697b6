//! The `sdrate` command: parses the command line, runs the one command
//! named on the library (`sdrate`, the engine, and `sdrate-format`), and
//! turns what it returns into an exit code. Nothing here is a library
//! decision; nothing in the library knows about the command line.

mod cli;
mod cmd;
mod exit;
mod log;
mod metrics;
mod ui;

use std::process::ExitCode;

// Decoding allocates a few small strings per record; mimalloc's per-thread
// heaps make that markedly cheaper than the system allocator under rayon.
#[global_allocator]
static GLOBAL: sdrate::allocator::Allocator = sdrate::allocator::Allocator;

/// mimalloc's `mi_option_purge_delay`, by its place in mimalloc.h (v3): the
/// Rust bindings name no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Freed memory is kept rather than handed back to the OS after a delay:
    // a run reuses the same few blocks' worth of memory over and over, and
    // every purged page came back as a page fault with a zeroed page (about
    // 4 % of a run). Peak memory is the same; an operator's
    // MIMALLOC_PURGE_DELAY still wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option of the allocator; mimalloc
        // reads options atomically and allows changing them at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    match cmd::run() {
        Ok(code) => code,
        Err(err) => {
            // The full chain, so an operator sees the file and the cause;
            // nothing when the reader of our output just stopped reading.
            if !exit::is_broken_pipe(&err) {
                tracing::error!("{err:#}");
            }
            ExitCode::from(exit::code_for(&err))
        }
    }
}
