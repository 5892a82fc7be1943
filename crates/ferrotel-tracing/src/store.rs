//! [`SpanStore`]: each live span's OpenTelemetry context, keyed by its `tracing` span id.
//!
//! Kept by the layer rather than in the registry's span extensions: an extension costs a boxed
//! allocation per span plus a slab lookup, a lock and a type-keyed map operation on every new
//! span, enter and close (about a quarter of the layer's work per span). Here it is one
//! uncontended lock and one integer-keyed map operation, and no allocation once the maps have
//! grown to the number of live spans.
//!
//! Ids are unique among the live spans of one registry, and a layer belongs to one registry.
//! The registry reuses an id only after every layer's `on_close` for it has returned, and the
//! layer removes the entry there, so an entry never outlives its span's id.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use opentelemetry::Context;
use tracing_core::span::Id;

/// A power of two; more shards than cores keeps threads creating spans at once apart.
const SHARDS: usize = 64;

/// A shard's map is shrunk only above this capacity (small maps are not worth the rehash).
const SHRINK_ABOVE: usize = 1024;

/// A span id spread over the whole word: registry ids differ mostly in their low bits (slab
/// slot) and thread bits, and a folded multiply mixes both into every bit. It is a bijection,
/// so the spread id is the map key; middle bits pick the shard (the map uses the low bits for
/// the bucket and the top seven as its tag).
fn spread(id: &Id) -> u64 {
    let product = u128::from(id.into_u64()) * 0x9E37_79B9_7F4A_7C15;
    (product as u64) ^ ((product >> 64) as u64)
}

/// Passes an already spread key through as its own hash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (the keys); this keeps the hasher correct for anything else.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}

type Map = HashMap<u64, Context, BuildHasherDefault<KeyHasher>>;

/// One shard on its own cache lines, so threads working on different shards do not contend.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Map>);

/// The contexts of the live spans a layer started.
pub(crate) struct SpanStore {
    shards: Box<[Shard]>,
}

impl Default for SpanStore {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }
}

impl SpanStore {
    /// The shard holding `key`, locked.
    fn shard(&self, key: u64) -> MutexGuard<'_, Map> {
        let at = (key >> 32) as usize % SHARDS;
        // No code that can panic runs under the lock (contexts are dropped outside it), but a
        // poisoned shard must not turn every later span into a panic either.
        self.shards[at]
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `cx` for span `id`.
    pub(crate) fn insert(&self, id: &Id, cx: Context) {
        let key = spread(id);
        let previous = self.shard(key).insert(key, cx);
        // Only if the registry handed out a live id twice; dropped with the lock released,
        // since dropping a context may end a span and run processors.
        drop(previous);
    }

    /// A clone of span `id`'s context.
    pub(crate) fn get(&self, id: &Id) -> Option<Context> {
        let key = spread(id);
        self.shard(key).get(&key).cloned()
    }

    /// Takes span `id`'s context out (when the span closes).
    pub(crate) fn remove(&self, id: &Id) -> Option<Context> {
        let key = spread(id);
        let mut map = self.shard(key);
        let cx = map.remove(&key);
        // A burst of live spans grows a shard; give the memory back once it is mostly empty.
        // Shrinking to twice the size left keeps this amortized constant per removal.
        if map.capacity() > SHRINK_ABOVE && map.len() * 8 < map.capacity() {
            let keep = map.len() * 2;
            map.shrink_to(keep);
        }
        cx
    }

    /// The number of spans held (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.0.lock().unwrap().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::KeyValue;

    #[test]
    fn keeps_contexts_per_id_until_removed() {
        let store = SpanStore::default();
        let ids: Vec<Id> = (1..=1000_u64)
            .map(|n| Id::from_u64((n << 20) | n))
            .collect();
        for (n, id) in ids.iter().enumerate() {
            store.insert(id, Context::new().with_value(KeyValue::new("n", n as i64)));
        }
        assert_eq!(store.len(), 1000);
        for (n, id) in ids.iter().enumerate() {
            let cx = store.get(id).expect("inserted");
            assert_eq!(cx.get::<KeyValue>(), Some(&KeyValue::new("n", n as i64)));
        }
        for id in &ids[..500] {
            assert!(store.remove(id).is_some());
            assert!(store.get(id).is_none());
            assert!(store.remove(id).is_none());
        }
        assert_eq!(store.len(), 500);
    }

    #[test]
    fn shards_give_memory_back_after_a_burst() {
        let store = SpanStore::default();
        let ids: Vec<Id> = (1..=200_000_u64).map(Id::from_u64).collect();
        for id in &ids {
            store.insert(id, Context::new());
        }
        let capacity = |s: &SpanStore| -> usize {
            s.shards
                .iter()
                .map(|s| s.0.lock().unwrap().capacity())
                .sum()
        };
        assert!(capacity(&store) >= 200_000);
        for id in &ids[10..] {
            store.remove(id);
        }
        assert_eq!(store.len(), 10);
        assert!(
            capacity(&store) <= SHARDS * SHRINK_ABOVE * 2,
            "{} slots kept for 10 spans",
            capacity(&store)
        );
        for id in &ids[..10] {
            assert!(store.get(id).is_some(), "the survivors are still there");
        }
    }

    #[test]
    fn spreads_registry_like_ids_over_shards() {
        // Same slot bits on four threads, consecutive slots on one: both must use many shards.
        let mut used = std::collections::HashSet::new();
        for thread in 0..4_u64 {
            for slot in 0..64_u64 {
                used.insert(
                    (spread(&Id::from_u64((thread << 38) | (slot + 1))) >> 32) as usize % SHARDS,
                );
            }
        }
        assert!(used.len() > SHARDS / 2, "{} shards used", used.len());
    }
}
