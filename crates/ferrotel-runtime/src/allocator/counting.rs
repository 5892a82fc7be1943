//! A global-allocator wrapper that counts live heap bytes with per-thread counters.
//!
//! # Why per-thread slots
//!
//! One global `AtomicIsize::fetch_add` on every allocation costs ~40% on a malloc-bound loop
//! (a `lock`-prefixed read-modify-write drains the store buffer, and under contention the cache
//! line ping-pongs between cores). Here each thread owns one cache-padded slot out of
//! [`SLOT_COUNT`]: only the owner writes it, so an update is a plain relaxed load and store (no
//! `lock` prefix, no shared cache line). A reader sums every slot; the sum is exact up to the
//! updates in flight at that instant.
//!
//! A thread claims a slot on its first allocation and, on Unix, gives it back when it exits
//! (a `pthread` key destructor: std forbids a global allocator from using `thread_local!`
//! values with destructors). The slot keeps its value, so bytes allocated by a thread that
//! exited and freed by another still add up to zero. When every slot is taken (more than
//! [`SLOT_COUNT`] live threads, or threads exiting on a non-Unix target where slots are not
//! given back), a thread falls back to a small set of sharded atomics updated with `fetch_add`:
//! slower, still exact.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Number of per-thread slots; more live threads than this share the fallback shards.
pub const SLOT_COUNT: usize = 256;
const OVERFLOW_SHARDS: usize = 16;

struct Slot {
    bytes: AtomicIsize,
    owned: AtomicBool,
}

static SLOTS: [CachePadded<Slot>; SLOT_COUNT] = [const {
    CachePadded::new(Slot {
        bytes: AtomicIsize::new(0),
        owned: AtomicBool::new(false),
    })
}; SLOT_COUNT];
static OVERFLOW: [CachePadded<AtomicIsize>; OVERFLOW_SHARDS] =
    [const { CachePadded::new(AtomicIsize::new(0)) }; OVERFLOW_SHARDS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    // Const-initialised and without destructors: accessing them never allocates, which is what
    // makes them usable from inside a global allocator.
    /// The counter of the slot this thread owns; `None` before the first allocation, when no
    /// slot was free, and after the slot was given back at thread exit.
    static OWNED: Cell<Option<&'static AtomicIsize>> = const { Cell::new(None) };
    /// Whether this thread already tried to claim a slot (it tries once).
    static TRIED: Cell<bool> = const { Cell::new(false) };
}

/// A [`GlobalAlloc`] wrapper that counts live heap bytes, read by the `counting` heap source.
///
/// Install it once in the application (a library cannot choose the global allocator):
///
/// ```
/// use std::alloc::System;
/// use ferrotel_runtime::CountingAlloc;
///
/// #[global_allocator]
/// static ALLOC: CountingAlloc<System> = CountingAlloc::new(System);
/// # fn main() { assert!(ferrotel_runtime::counting_live_bytes().is_some()); }
/// ```
///
/// It wraps any allocator (`CountingAlloc<tikv_jemallocator::Jemalloc>` works too). The counters
/// are process-wide statics, so install exactly one `CountingAlloc`. Cost: one relaxed load and
/// store to a thread-owned cache line per allocation, deallocation or reallocation (see the
/// `runtime` benchmark for the measured overhead).
#[derive(Debug, Default)]
pub struct CountingAlloc<A> {
    inner: A,
}

impl<A> CountingAlloc<A> {
    /// Wraps `inner`; `const` so it can initialise a `#[global_allocator]` static.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments unchanged
// and returns its result; the bookkeeping touches only atomics and a const thread-local.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { self.inner.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as isize);
        }
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let new_ptr = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            add((new_size as isize).wrapping_sub(layout.size() as isize));
        }
        new_ptr
    }
}

/// Live heap bytes counted by [`CountingAlloc`], or `None` when no `CountingAlloc` has
/// allocated anything in this process (not installed: the heap source is then absent).
pub fn counting_live_bytes() -> Option<u64> {
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    let slots = SLOTS.iter().fold(0isize, |sum, slot| {
        sum.wrapping_add(slot.bytes.load(Ordering::Relaxed))
    });
    let total = OVERFLOW.iter().fold(slots, |sum, shard| {
        sum.wrapping_add(shard.load(Ordering::Relaxed))
    });
    // Updates in flight on other threads can make the sum briefly negative near zero.
    Some(total.max(0) as u64)
}

#[inline]
fn add(delta: isize) {
    // Hot path: one thread-local load, one test, a plain load + store on a thread-owned line.
    if let Some(bytes) = OWNED.try_with(Cell::get).ok().flatten() {
        // Only the owning thread writes this counter: a plain load + store cannot lose an update.
        bytes.store(
            bytes.load(Ordering::Relaxed).wrapping_add(delta),
            Ordering::Relaxed,
        );
        return;
    }
    add_slow(delta);
}

#[cold]
fn add_slow(delta: isize) {
    let first_try = TRIED
        .try_with(|tried| !tried.replace(true))
        .unwrap_or(false);
    if first_try && let Some(slot) = claim_slot() {
        let bytes = &SLOTS[slot].bytes;
        bytes.store(
            bytes.load(Ordering::Relaxed).wrapping_add(delta),
            Ordering::Relaxed,
        );
        return;
    }
    add_shared(delta);
}

#[cold]
fn add_shared(delta: isize) {
    // Spread threads without a slot over the shards by the address of their thread-local.
    let shard = TRIED
        .try_with(|cell| cell as *const Cell<bool> as usize >> 6)
        .unwrap_or(0)
        % OVERFLOW_SHARDS;
    OVERFLOW[shard].fetch_add(delta, Ordering::Relaxed);
}

/// Claims a free slot for the current thread; `None` (the thread then uses the shared shards)
/// when none is free or the slot could not be given back at thread exit.
#[cold]
fn claim_slot() -> Option<usize> {
    INSTALLED.store(true, Ordering::Relaxed);
    let start = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    let found = (0..SLOT_COUNT)
        .map(|i| (start + i) % SLOT_COUNT)
        .find(|&i| {
            SLOTS[i]
                .owned
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        });
    let claimed = found.filter(|&i| {
        let released_at_exit = release::register(i);
        if !released_at_exit {
            SLOTS[i].owned.store(false, Ordering::Release);
        }
        released_at_exit
    });
    if let Some(slot) = claimed {
        let _ = OWNED.try_with(|owned| owned.set(Some(&SLOTS[slot].bytes)));
    }
    claimed
}

/// Gives a slot back when its thread exits.
fn release_slot(slot: usize) {
    // Later allocations of this exiting thread (other TLS destructors) use the shared shards.
    let _ = OWNED.try_with(|owned| owned.set(None));
    // Release: the next owner's Acquire claim sees every byte count this thread stored.
    SLOTS[slot].owned.store(false, Ordering::Release);
}

#[cfg(unix)]
mod release {
    //! A `pthread` key whose destructor gives the slot back. Creating the key and setting its
    //! value do not go through the Rust global allocator (glibc uses libc `calloc` for keys
    //! past the first 32), so this is safe to call from inside `CountingAlloc`.
    use std::sync::atomic::{AtomicUsize, Ordering};

    const NO_KEY: usize = usize::MAX;
    static KEY: AtomicUsize = AtomicUsize::new(NO_KEY);

    unsafe extern "C" fn on_thread_exit(value: *mut libc::c_void) {
        // The value is `slot + 1` so that it is never null (null values skip the destructor).
        super::release_slot(value as usize - 1);
    }

    fn key() -> Option<libc::pthread_key_t> {
        let current = KEY.load(Ordering::Acquire);
        if current != NO_KEY {
            return Some(current as libc::pthread_key_t);
        }
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is a valid out-pointer and the destructor has the expected signature.
        if unsafe { libc::pthread_key_create(&mut key, Some(on_thread_exit)) } != 0 {
            return None;
        }
        match KEY.compare_exchange(NO_KEY, key as usize, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Some(key),
            Err(winner) => {
                // Another thread created the key first: keep theirs.
                // SAFETY: `key` was created above and never handed out.
                unsafe { libc::pthread_key_delete(key) };
                Some(winner as libc::pthread_key_t)
            }
        }
    }

    /// Arranges for `slot` to be given back at thread exit; false when that is not possible.
    pub(super) fn register(slot: usize) -> bool {
        let Some(key) = key() else { return false };
        // SAFETY: `key` is a live key; the value is an integer smuggled as a pointer.
        unsafe { libc::pthread_setspecific(key, (slot + 1) as *const libc::c_void) == 0 }
    }
}

#[cfg(not(unix))]
mod release {
    /// No portable allocation-free thread-exit hook: the slot stays owned after the thread
    /// exits (still counted exactly; later threads use free slots, then the shared shards).
    pub(super) fn register(_slot: usize) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;

    static COUNTING: CountingAlloc<System> = CountingAlloc::new(System);

    // These tests call the wrapper directly (it is not this test binary's global allocator), so
    // the process-wide counters move only by what the tests allocate through it. The counters
    // are shared, so tests that read them take this lock: one test freeing its bytes must not
    // lower the count another is asserting on.
    static COUNTERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn counters() -> std::sync::MutexGuard<'static, ()> {
        COUNTERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[test]
    fn counts_alloc_realloc_and_dealloc() {
        let _counters = counters();
        let layout = Layout::from_size_align(1 << 20, 8).unwrap();
        let before = counting_live_bytes().unwrap_or(0);
        // SAFETY: the layout is non-zero and the pointer is freed with the layout it has.
        unsafe {
            let ptr = COUNTING.alloc(layout);
            assert!(!ptr.is_null());
            assert!(counting_live_bytes().unwrap() >= before + (1 << 20));
            let ptr = COUNTING.realloc(ptr, layout, 4 << 20);
            assert!(!ptr.is_null());
            assert!(counting_live_bytes().unwrap() >= before + (4 << 20));
            COUNTING.dealloc(ptr, Layout::from_size_align(4 << 20, 8).unwrap());
        }
    }

    #[test]
    fn exited_threads_give_their_slot_back() {
        let _counters = counters();
        let layout = Layout::from_size_align(3 << 20, 8).unwrap();
        // SAFETY: allocated here, freed once on the other thread with the same layout.
        let ptr = unsafe { COUNTING.alloc(layout) } as usize;
        std::thread::spawn(move || unsafe { COUNTING.dealloc(ptr as *mut u8, layout) })
            .join()
            .unwrap();
        // More short-lived threads than slots: their slots are given back and reused.
        for _ in 0..(2 * SLOT_COUNT) {
            std::thread::spawn(|| {
                let layout = Layout::from_size_align(64, 8).unwrap();
                // SAFETY: allocated and freed with the same layout.
                unsafe { COUNTING.dealloc(COUNTING.alloc(layout), layout) };
            })
            .join()
            .unwrap();
        }
        #[cfg(unix)]
        assert!(
            SLOTS.iter().any(|slot| !slot.owned.load(Ordering::Relaxed)),
            "slots of exited threads are given back"
        );
    }
}
