//! The diesel implementation of the store traits over one `MultiConnection` pool:
//! SQLite (WAL, busy timeout) or PostgreSQL, chosen by the database URL.

mod admin;
mod application;
mod cards;
mod enrollment;
mod mail;
mod maintenance;
mod notices;
mod rate_limit;
mod records;
mod registration_rows;
mod registry;
mod sign_in;
mod tokens;

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, Context};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{StoreError, StoreResult};
use crate::configuration::{DatabaseSettings, DatabaseTarget};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any key; both instances of a cluster must agree on it.
const MIGRATION_LOCK_ID: i64 = 0x6361_7264_696e_616c; // "cardinal"

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Makes the connection of the configured kind, with no guessing between backends.
#[derive(Debug, Clone)]
struct Connector {
    target: DatabaseTarget,
    busy_timeout_ms: u64,
}

impl Connector {
    fn connect(&self) -> ConnectionResult<AnyConnection> {
        match &self.target {
            DatabaseTarget::Postgres(url) => {
                diesel::PgConnection::establish(url).map(AnyConnection::Postgresql)
            }
            DatabaseTarget::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = diesel::SqliteConnection::establish(&path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

/// r2d2 manager that builds connections through [`Connector`].
#[derive(Debug)]
pub struct Manager(Connector);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        self.0
            .connect()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

#[derive(Debug)]
struct NoCustomizer;
impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for NoCustomizer {}

type DbPool = Pool<Manager>;
pub(crate) type Conn = PooledConnection<Manager>;

/// The database: a pool plus the backend it speaks.
#[derive(Clone)]
pub struct Database {
    pool: DbPool,
    backend: Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects, creating the SQLite file (and its folder) when missing. Does not migrate.
    pub fn connect(
        target: &DatabaseTarget,
        settings: &DatabaseSettings,
    ) -> anyhow::Result<Database> {
        let backend = match target {
            DatabaseTarget::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).with_context(|| {
                        format!("Failed to create the database folder {}", dir.display())
                    })?;
                }
                Backend::Sqlite
            }
            DatabaseTarget::Postgres(_) => Backend::Postgres,
        };
        let manager = Manager(Connector {
            target: target.clone(),
            busy_timeout_ms: settings.sqlite_busy_timeout_ms,
        });
        let pool = Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
            .test_on_check_out(true)
            .connection_customizer(Box::new(NoCustomizer))
            .build_unchecked(manager);
        let db = Database { pool, backend };
        // Fail fast with a clear message when the database cannot be reached at all.
        db.conn().context("Failed to connect to the database")?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn conn(&self) -> anyhow::Result<Conn> {
        self.pool
            .get()
            .map_err(|e| anyhow!("No database connection available: {e}"))
    }

    /// Applies pending migrations. Several instances starting at once take turns: an
    /// advisory lock on PostgreSQL, an exclusive file lock next to the SQLite file.
    pub fn migrate(&self, target: &DatabaseTarget) -> anyhow::Result<Vec<String>> {
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            AnyConnection::Postgresql(pg) => {
                pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))
                    .context("Failed to take the migration lock")?;
                let result = pg
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(|m| m.to_string()).collect());
                let unlock =
                    pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"));
                let applied = result
                    .map_err(|e| anyhow!("Failed to migrate the PostgreSQL database: {e}"))?;
                unlock.context("Failed to release the migration lock")?;
                applied
            }
            AnyConnection::Sqlite(lite) => {
                let _lock = match target {
                    DatabaseTarget::Sqlite(path) => Some(lock_file(path)?),
                    DatabaseTarget::Postgres(_) => None,
                };
                lite.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|v| v.iter().map(|m| m.to_string()).collect())
                    .map_err(|e| anyhow!("Failed to migrate the SQLite database: {e}"))?
            }
        };
        Ok(applied)
    }

    /// Runs `f` with a pooled connection.
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        f(&mut conn).map_err(map_err)
    }

    /// Runs `f` in a transaction. On SQLite the transaction first writes to the one-row
    /// `write_lock` table, so it holds the write lock from its first statement: concurrent
    /// writers then queue on the busy timeout instead of failing on a lock upgrade.
    pub(crate) fn write_tx<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> StoreResult<T> {
        let backend = self.backend;
        let mut conn = self.conn()?;
        conn.transaction(|c| {
            if backend == Backend::Sqlite {
                c.batch_execute("UPDATE write_lock SET n = n + 1 WHERE id = 1")?;
            }
            f(c)
        })
        .map_err(map_err)
    }
}

fn lock_file(db_path: &Path) -> anyhow::Result<std::fs::File> {
    let lock_path = db_path.with_extension("migrate.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("Failed to open {}", lock_path.display()))?;
    file.lock()
        .with_context(|| format!("Failed to lock {}", lock_path.display()))?;
    Ok(file)
}

pub(crate) fn map_err(e: diesel::result::Error) -> StoreError {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => StoreError::Duplicate,
        other => StoreError::Db(anyhow::Error::new(other).context("Database query failed")),
    }
}
