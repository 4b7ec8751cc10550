//! glibc malloc tuning for the app process (measured by bench/app.sh; a
//! no-op where the C library is not glibc).
//!
//! Left alone, glibc keeps up to eight arenas per core, one per thread that
//! allocates (Tokio workers, GTK/WebKit, media threads), and keeps freed
//! memory in them; after a preview pipeline stops, its frame buffers stay
//! resident as free heap. Two arenas and a trim after each stop took the
//! app's idle anonymous memory from 46 MB to 40-43 MB with preview latency
//! unchanged.

/// Caps malloc at two arenas. Call first thing in `main`, before any
/// thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning and runs before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Hands free heap back to the OS (after a media pipeline stops).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds as free.
    unsafe {
        libc::malloc_trim(0);
    }
}
