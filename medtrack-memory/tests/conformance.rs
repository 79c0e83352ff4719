//! The shared backend conformance suite, run against the in-memory store.

use std::sync::Arc;

use medtrack_core::store::Store;
use medtrack_memory::MemoryStore;

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

medtrack_core::conformance_tests!(fresh_store);
