//! Opening a database: checks that leave a foreign file alone, pragmas, the two pools and
//! migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};

use crate::error::{OpenError, SqliteError};

/// The schema migrations, embedded at build time from `migrations/`.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// How a [`SqliteStore`] opens its database. The defaults suit a single clinic's server.
#[derive(Debug, Clone)]
pub struct SqliteStoreOptions {
    read_connections: u32,
    busy_timeout: Duration,
    acquire_timeout: Duration,
    migrate_on_open: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            migrate_on_open: true,
        }
    }
}

impl SqliteStoreOptions {
    /// How many read-only connections the read pool may open (at least 1; default 4). Writes
    /// always go through one extra connection of their own.
    pub fn read_connections(mut self, count: u32) -> Self {
        self.read_connections = count.max(1);
        self
    }

    /// How long a connection waits for another process's lock before giving up with a
    /// retryable `Unavailable` error (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How long an operation waits for a free connection of its pool (default 30 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Whether opening applies pending migrations (default true). Turn it off when the schema
    /// is managed separately, and call [`SqliteStore::migrate`] yourself.
    pub fn migrate_on_open(mut self, migrate: bool) -> Self {
        self.migrate_on_open = migrate;
        self
    }
}

/// The SQLite store: every storage trait of `medtrack-core` over one database file.
///
/// Cloning is cheap and shares the pools. See the crate docs for pragmas and the single
/// writer connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens the database at `url`, such as `sqlite://data/medtrack.db` (relative to the
    /// working directory) or `sqlite:///var/lib/medtrack.db`, creating the file if missing and
    /// applying pending migrations. `sqlite::memory:` opens a private in-memory database.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        Self::connect_with(url, SqliteStoreOptions::default()).await
    }

    /// As [`connect`](Self::connect), with explicit options.
    pub async fn connect_with(url: &str, options: SqliteStoreOptions) -> Result<Self, OpenError> {
        let base = SqliteConnectOptions::from_str(url).map_err(OpenError::InvalidUrl)?;
        if is_memory_url(url) {
            return Self::memory_with(base, options).await;
        }
        Self::file_with(base, options).await
    }

    /// Opens the database file at `path`, creating it if missing.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, SqliteStoreOptions::default()).await
    }

    /// As [`open`](Self::open), with explicit options.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: SqliteStoreOptions,
    ) -> Result<Self, OpenError> {
        let base = SqliteConnectOptions::new().filename(path);
        Self::file_with(base, options).await
    }

    /// A fresh, private in-memory database, for tests. It lives as long as the store and its
    /// clones; reads and writes share its one connection.
    pub async fn in_memory() -> Result<Self, OpenError> {
        Self::connect("sqlite::memory:").await
    }

    /// Applies pending migrations. Idempotent; refuses a database migrated by a newer build.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        let mut conn = self.writer.acquire().await?;
        refuse_newer_schema(&mut conn).await?;
        MIGRATOR.run(&mut *conn).await.map_err(migrate_error)
    }

    /// Waits for running operations and closes every connection, the writer last so that it
    /// checkpoints the write-ahead log into the database file. Operations after this fail
    /// with a non-retryable `Unavailable` error.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    /// The pool of the single writer connection, for administrative work such as backups.
    /// Writing through it bypasses every check of the store.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// The read-only pool.
    pub fn read_pool(&self) -> &SqlitePool {
        &self.reader
    }

    /// Starts a write transaction on the writer connection with `BEGIN IMMEDIATE`, so it
    /// holds the write lock from its first statement and never has to upgrade a read lock.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, SqliteError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn file_with(
        base: SqliteConnectOptions,
        options: SqliteStoreOptions,
    ) -> Result<Self, OpenError> {
        let path = base.get_filename().to_path_buf();
        probe_existing(&path, &base).await?;

        let writer = writer_pool(&base, &options).await?;
        let store = Self {
            reader: reader_pool(&base, &options),
            writer,
        };

        if options.migrate_on_open {
            store.migrate().await?;
        }
        Ok(store)
    }

    async fn memory_with(
        base: SqliteConnectOptions,
        options: SqliteStoreOptions,
    ) -> Result<Self, OpenError> {
        let connect = base.foreign_keys(true).busy_timeout(options.busy_timeout);
        let pool = single_connection()
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        let store = Self {
            reader: pool.clone(),
            writer: pool,
        };

        if options.migrate_on_open {
            store.migrate().await?;
        }
        Ok(store)
    }
}

fn is_memory_url(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.starts_with(":memory:") || rest.contains("mode=memory")
}

/// A pool that keeps exactly one connection open for its whole life.
fn single_connection() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
}

async fn writer_pool(
    base: &SqliteConnectOptions,
    options: &SqliteStoreOptions,
) -> Result<SqlitePool, OpenError> {
    let connect = base
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout);
    let pool = single_connection()
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await?;
    Ok(pool)
}

fn reader_pool(base: &SqliteConnectOptions, options: &SqliteStoreOptions) -> SqlitePool {
    let connect = base
        .clone()
        .read_only(true)
        .foreign_keys(true)
        .busy_timeout(options.busy_timeout);
    SqlitePoolOptions::new()
        .max_connections(options.read_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect)
}

/// Before anything may write to an existing file, checks that it is a SQLite database that
/// SQLite can read and that this build knows its schema, all without writing to it.
async fn probe_existing(path: &Path, base: &SqliteConnectOptions) -> Result<(), OpenError> {
    if !has_content(path)? {
        return Ok(());
    }
    check_header(path)?;

    let read_only = base.clone().read_only(true).create_if_missing(false);
    let corrupt = |source| OpenError::Corrupt {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = SqliteConnection::connect_with(&read_only)
        .await
        .map_err(corrupt)?;
    let checked = check_readable(&mut conn).await.map_err(corrupt);
    let checked = match checked {
        Ok(()) => refuse_newer_schema(&mut conn).await,
        Err(err) => Err(err),
    };

    conn.close().await.ok();
    checked
}

fn has_content(path: &Path) -> Result<bool, OpenError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(meta.len() > 0),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(io_error(path, source)),
    }
}

fn check_header(path: &Path) -> Result<(), OpenError> {
    use std::io::Read;

    let mut header = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let read = file
        .read(&mut header)
        .map_err(|source| io_error(path, source))?;
    if read < header.len() || &header != SQLITE_HEADER {
        return Err(OpenError::NotADatabase {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
        path: PathBuf::from(path),
        source,
    }
}

/// Reads the schema table, which fails on a damaged header or first page.
async fn check_readable(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_schema")
        .fetch_one(&mut *conn)
        .await?;
    Ok(())
}

/// Fails with `SchemaTooNew` when the database holds a migration newer than this build's.
async fn refuse_newer_schema(conn: &mut SqliteConnection) -> Result<(), OpenError> {
    let supported = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let found = applied_version(conn).await?;
    match found {
        Some(found) if found > supported => Err(OpenError::SchemaTooNew { found, supported }),
        _ => Ok(()),
    }
}

async fn applied_version(conn: &mut SqliteConnection) -> Result<Option<i64>, sqlx::Error> {
    let has_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema \
         WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(&mut *conn)
    .await?;
    if !has_table {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await
}

fn migrate_error(err: MigrateError) -> OpenError {
    let supported = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    match err {
        MigrateError::VersionMissing(found) if found > supported => {
            OpenError::SchemaTooNew { found, supported }
        }
        other => OpenError::Migrate(other),
    }
}
