//! The shared backend conformance suite, run against a SQLite file database.
//!
//! Each case gets a new database file in its own directory under Cargo's per-target
//! temporary directory (`target/tmp`), opened with several read connections so that the
//! races run on real parallel connections. The suite takes the store as `Arc<dyn Store>`,
//! which cannot carry the directory's drop guard, so the directory is kept on purpose
//! (`TempDir::keep`) rather than removed while the store still uses it. The files stay
//! inside `target/`; each run first removes the directories that earlier runs left behind.

use std::path::Path;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use medtrack_core::store::Store;
use medtrack_sqlite::{SqliteStore, SqliteStoreOptions};

const PREFIX: &str = "conformance-";

async fn fresh_store() -> Arc<dyn Store> {
    static SWEEP: Once = Once::new();
    let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
    SWEEP.call_once(|| remove_old_directories(parent));

    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir_in(parent)
        .expect("a temporary directory under target/tmp")
        .keep();
    let options = SqliteStoreOptions::default().read_connections(4);
    let store = SqliteStore::open_with(dir.join("medtrack.db"), options)
        .await
        .expect("a fresh database opens");
    Arc::new(store)
}

/// Removes case directories older than ten minutes: older than any run still going on.
fn remove_old_directories(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let cutoff = SystemTime::now() - Duration::from_secs(600);
    for entry in entries.flatten() {
        let is_case = entry.file_name().to_string_lossy().starts_with(PREFIX);
        let modified = entry.metadata().and_then(|meta| meta.modified());
        if is_case && modified.is_ok_and(|at| at < cutoff) {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

medtrack_core::conformance_tests!(fresh_store);
