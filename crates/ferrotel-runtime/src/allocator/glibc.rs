//! glibc `mallinfo2` heap source (linux-gnu only).
//!
//! `mallinfo2` is looked up with `dlsym` at run time rather than linked: it exists only since
//! glibc 2.33, and a binary linked against it would not start on older systems. When it is
//! missing the source is absent. Numbers cover every malloc arena: live = `uordblks` (in-use
//! arena bytes) + `hblkhd` (large mmapped chunks); mapped = `arena` (arena bytes obtained with
//! `brk`/`mmap`) + `hblkhd`. They describe the Rust heap only when the Rust global allocator is
//! the system one (`std::alloc::System`, the default).
//!
//! Cost: glibc locks each arena in turn and walks its free bins, so a call is proportional to
//! the number of arenas and free chunks (tens of microseconds on a typical service); it runs
//! once per collection, never on the application's allocation path.

/// `struct mallinfo2` from `<malloc.h>` (glibc >= 2.33).
#[repr(C)]
#[derive(Default)]
struct Mallinfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

type Mallinfo2Fn = unsafe extern "C" fn() -> Mallinfo2;

/// A resolved `mallinfo2`.
#[derive(Clone, Copy)]
pub(crate) struct Glibc {
    mallinfo2: Mallinfo2Fn,
}

impl std::fmt::Debug for Glibc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Glibc(mallinfo2)")
    }
}

impl Glibc {
    /// Resolves `mallinfo2`, or `None` when this glibc does not have it.
    pub(crate) fn resolve() -> Option<Self> {
        // SAFETY: RTLD_DEFAULT with a NUL-terminated symbol name is a valid dlsym call.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"mallinfo2".as_ptr()) };
        if symbol.is_null() {
            return None;
        }
        // SAFETY: glibc's `mallinfo2` has exactly this signature (`struct mallinfo2 (void)`).
        let mallinfo2 = unsafe { std::mem::transmute::<*mut libc::c_void, Mallinfo2Fn>(symbol) };
        Some(Self { mallinfo2 })
    }

    /// `(live, mapped)` bytes.
    pub(crate) fn read(&self) -> (u64, u64) {
        // SAFETY: resolved from glibc's own `mallinfo2`, which takes no arguments.
        let info = unsafe { (self.mallinfo2)() };
        let _ = (
            info.ordblks,
            info.smblks,
            info.hblks,
            info.usmblks,
            info.fsmblks,
        );
        let _ = (info.fordblks, info.keepcost);
        (
            (info.uordblks as u64).saturating_add(info.hblkhd as u64),
            (info.arena as u64).saturating_add(info.hblkhd as u64),
        )
    }
}
