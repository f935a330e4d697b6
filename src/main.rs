use std::process::ExitCode;

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

// Decoding allocates a few small strings per record; mimalloc's per-thread
// heaps make that markedly cheaper than the system allocator under rayon.
#[global_allocator]
static GLOBAL: Allocator = Allocator;

/// mimalloc, asked for plain blocks where the layout allows. The mimalloc
/// crate's allocator asks for an aligned block every time, and mimalloc
/// serves those on its fast path only up to 1 KiB and only when the next
/// free block happens to be aligned; every block is 16-byte aligned anyway,
/// so for the usual alignments the plain calls give the same guarantee for
/// about a quarter fewer instructions per allocation.
struct Allocator;

/// The alignment every mimalloc block has (MI_MAX_ALIGN_SIZE).
const PLAIN_ALIGN: usize = 16;

// SAFETY: every block comes from mimalloc and goes back to it; a plain
// block is used only where its 16-byte alignment satisfies the layout.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

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
    match sdrate::cli::run() {
        Ok(code) => code,
        Err(err) => {
            // The full chain, so an operator sees the file and the cause.
            eprintln!("sdrate: error: {err:#}");
            ExitCode::from(sdrate::exit::code_for(&err))
        }
    }
}
