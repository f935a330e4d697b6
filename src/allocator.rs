//! The global allocator of the binary and the benchmarks (the library
//! itself, and so its tests, leave the choice to whoever links it).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// mimalloc, asked for plain blocks where the layout allows. The mimalloc
/// crate's allocator asks for an aligned block every time, and mimalloc
/// serves those on its fast path only up to 1 KiB and only when the next
/// free block happens to be aligned; every block is 16-byte aligned anyway,
/// so for the usual alignments the plain calls give the same guarantee for
/// about a quarter fewer instructions per allocation.
pub struct Allocator;

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
