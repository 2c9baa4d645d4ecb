//! Parsed model artifacts kept in memory, keyed by the sha256 of their bytes, so an
//! endpoint parses its model once rather than on every invocation. The key is the content
//! hash, so a cached artifact can never be stale: a new upload has a new hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use oxbook_kernel::ModelArtifact;

#[derive(Debug)]
pub struct ArtifactCache {
    entries: Mutex<HashMap<String, Arc<ModelArtifact>>>,
    capacity: usize,
}

impl ArtifactCache {
    /// A cache holding at most `capacity` artifacts (at least one).
    pub fn new(capacity: usize) -> Self {
        ArtifactCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, sha256: &str) -> Option<Arc<ModelArtifact>> {
        self.lock().get(sha256).cloned()
    }

    pub fn insert(&self, sha256: &str, artifact: Arc<ModelArtifact>) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(sha256) {
            // Evicting an arbitrary entry is enough: a miss costs one parse, and the
            // deployed set is usually far below the capacity.
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(sha256.to_string(), artifact);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ModelArtifact>>> {
        // A panic while holding the lock cannot leave the map half-updated (each operation
        // is a single HashMap call), so a poisoned lock is still safe to use.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
