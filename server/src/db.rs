//! The database: one `sqlx` pool for SQLite (the default) or PostgreSQL, chosen by
//! the URL, with the schema brought up to date by embedded migrations on connect.
//!
//! Accounts and the admin audit log live here; world snapshots (with the ships and
//! their owners) are kept by `persistence` on the same pool. Queries are written once in the SQL both dialects share (`$n`
//! placeholders, `lower()` for case-insensitive names, `RETURNING`); only the
//! migrations differ, one directory per dialect.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bevy::prelude::Resource;
use galaxy_shared::protocol::Role;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};

/// Migrations compiled into the binary: (version, description, SQL).
type Embedded = &'static [(i64, &'static str, &'static str)];

const SQLITE_MIGRATIONS: Embedded = &[
    (
        1,
        "accounts",
        include_str!("../../migrations/sqlite/0001_accounts.sql"),
    ),
    (
        2,
        "snapshots",
        include_str!("../../migrations/sqlite/0002_snapshots.sql"),
    ),
];

const POSTGRES_MIGRATIONS: Embedded = &[
    (
        1,
        "accounts",
        include_str!("../../migrations/postgres/0001_accounts.sql"),
    ),
    (
        2,
        "snapshots",
        include_str!("../../migrations/postgres/0002_snapshots.sql"),
    ),
];

/// Connections in the pool: the HTTP API and persistence share it.
const POOL_SIZE: u32 = 8;
/// How long a query waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no backend we support.
    #[error("unsupported database URL `{0}`: expected sqlite: or postgres://")]
    UnsupportedUrl(String),
    /// The database could not be reached or a query failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The database was migrated by a newer server than this one.
    #[error(
        "the database schema is newer than this galaxy-server: migration {version} is applied \
         but unknown to this binary (it knows up to {known}); run a newer galaxy-server"
    )]
    SchemaTooNew {
        /// The unknown applied migration.
        version: i64,
        /// The newest migration this binary has.
        known: i64,
    },
    /// Migrating the schema failed.
    #[error("database migration failed: {0}")]
    Migrate(MigrateError),
    /// A stored value is not what the schema allows.
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl DbError {
    /// Whether trying again later may help (the server is down or busy), as opposed
    /// to a problem that needs a person (bad URL, schema from the future).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Sqlx(_)) || matches!(self, Self::Migrate(MigrateError::Execute(_)))
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The name is in use (case-insensitively).
    #[error("username is taken")]
    Taken,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Which SQL dialect the pool speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// The backend a URL names.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    fn migrations(self) -> Embedded {
        match self {
            Self::Sqlite => SQLITE_MIGRATIONS,
            Self::Postgres => POSTGRES_MIGRATIONS,
        }
    }
}

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Player {
    /// Id; also the netcode client id, never 0.
    pub id: u64,
    /// Name as registered (lookups ignore case).
    pub username: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Banned players cannot log in.
    pub banned: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// The database handle; cheap to clone (the pool is shared).
#[derive(Resource, Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

const PLAYER_COLUMNS: &str = "id, username, password_hash, role, banned, created_at";

impl Db {
    /// Connects to `url` and migrates the schema. A SQLite file is created when
    /// missing; a schema newer than this binary is refused.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| DbError::UnsupportedUrl(url.to_owned()))?;
        let url = match backend {
            Backend::Sqlite => sqlite_url(url),
            Backend::Postgres => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(&url)
            .await?;
        let db = Self { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    /// The dialect in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for modules that keep their own tables (persistence).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let embedded = self.backend.migrations();
        let known = embedded.iter().map(|(v, _, _)| *v).max().unwrap_or(0);
        let migrator = Migrator::new(EmbeddedMigrations(embedded))
            .await
            .map_err(DbError::Migrate)?;
        migrator.run(&self.pool).await.map_err(|error| match error {
            MigrateError::VersionMissing(version) => DbError::SchemaTooNew { version, known },
            other => DbError::Migrate(other),
        })
    }

    /// A trivial query: is the database there?
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Creates an account; the name must be free regardless of case.
    pub async fn create_player(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<Player, CreateError> {
        let created_at = unix_now();
        let row = sqlx::query(
            "INSERT INTO players (username, password_hash, role, banned, created_at) \
             VALUES ($1, $2, $3, FALSE, $4) RETURNING id",
        )
        .bind(username)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(created_at)
        .fetch_one(&self.pool)
        .await;
        let row = match row {
            Ok(row) => row,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(CreateError::Taken);
            }
            Err(error) => return Err(CreateError::Db(error.into())),
        };
        let id: i64 = row.try_get("id").map_err(DbError::from)?;
        Ok(Player {
            id: player_id(id)?,
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            role,
            banned: false,
            created_at,
        })
    }

    /// The account named `username` (any case).
    pub async fn find_player_by_name(&self, username: &str) -> Result<Option<Player>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {PLAYER_COLUMNS} FROM players WHERE lower(username) = lower($1)"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(player_from_row).transpose()
    }

    /// The account with this id.
    pub async fn find_player(&self, id: u64) -> Result<Option<Player>, DbError> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "SELECT {PLAYER_COLUMNS} FROM players WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(player_from_row).transpose()
    }

    /// Sets a player's role; false when no such player.
    pub async fn set_role(&self, username: &str, role: Role) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE players SET role = $1 WHERE lower(username) = lower($2)")
            .bind(role.as_str())
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Bans or unbans a player; false when no such player.
    pub async fn set_banned(&self, username: &str, banned: bool) -> Result<bool, DbError> {
        let done = sqlx::query("UPDATE players SET banned = $1 WHERE lower(username) = lower($2)")
            .bind(banned)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records one admin command: who ran it, what, and the answer.
    pub async fn audit(
        &self,
        actor: &str,
        line: &str,
        ok: bool,
        output: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO admin_audit (at, actor, line, ok, output) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(unix_now())
        .bind(actor)
        .bind(line)
        .bind(ok)
        .bind(output)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` audit entries whose actor, line or answer contains
    /// `containing` (any case; empty: every entry), newest first.
    pub async fn recent_audit(
        &self,
        limit: i64,
        containing: &str,
    ) -> Result<Vec<AuditEntry>, DbError> {
        let pattern = format!("%{}%", escape_like(&containing.to_lowercase()));
        let rows = sqlx::query(
            "SELECT at, actor, line, ok, output FROM admin_audit \
             WHERE LOWER(actor) LIKE $1 ESCAPE '\\' OR LOWER(line) LIKE $2 ESCAPE '\\' \
             OR LOWER(output) LIKE $3 ESCAPE '\\' ORDER BY id DESC LIMIT $4",
        )
        .bind(&pattern)
        .bind(&pattern)
        .bind(&pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    line: row.try_get("line")?,
                    ok: flag(row, "ok")?,
                    output: row.try_get("output")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::from)
    }
}

/// `text` with LIKE's wildcards and the escape character escaped by `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// One row of the admin audit log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// Who ran it.
    pub actor: String,
    /// The command line.
    pub line: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// What it answered.
    pub output: String,
}

/// SQLite URLs get `mode=rwc` so the default `sqlite://galaxy.db` creates its file.
fn sqlite_url(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn player_id(id: i64) -> Result<u64, DbError> {
    u64::try_from(id)
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| DbError::Corrupt {
            table: "players",
            reason: format!("id {id} is not a positive number"),
        })
}

/// A boolean column: PostgreSQL's BOOLEAN, or SQLite's INTEGER 0/1.
fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column)
        .or_else(|_| row.try_get::<i64, _>(column).map(|value| value != 0))
}

fn player_from_row(row: &AnyRow) -> Result<Player, DbError> {
    let role: String = row.try_get("role")?;
    let role = Role::from_name(&role).ok_or_else(|| DbError::Corrupt {
        table: "players",
        reason: format!("unknown role `{role}`"),
    })?;
    Ok(Player {
        id: player_id(row.try_get("id")?)?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role,
        banned: flag(row, "banned")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The migrations compiled into the binary, as a source for sqlx's migrator.
#[derive(Debug)]
struct EmbeddedMigrations(Embedded);

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh SQLite file in the temp dir, removed on drop.
    struct TempDb(std::path::PathBuf);

    impl TempDb {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "galaxy-db-test-{}-{}",
                std::process::id(),
                fastrand::u64(..)
            ));
            std::fs::create_dir_all(&dir).expect("temp dir is writable");
            Self(dir)
        }

        fn url(&self) -> String {
            format!("sqlite://{}/galaxy.db", self.0.display())
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[tokio::test]
    async fn accounts_round_trip_with_case_insensitive_names() {
        let temp = TempDb::new();
        let db = Db::connect(&temp.url())
            .await
            .expect("sqlite file is created");
        assert!(
            temp.0.join("galaxy.db").exists(),
            "mode=rwc creates the file"
        );
        db.ping().await.expect("ping");

        let alice = db
            .create_player("Alice", "hash-a", Role::Player)
            .await
            .expect("created");
        assert!(alice.id > 0);
        let bob = db
            .create_player("bob", "hash-b", Role::Admin)
            .await
            .expect("created");
        assert_ne!(alice.id, bob.id, "ids are unique");
        assert!(
            matches!(
                db.create_player("ALICE", "x", Role::Player).await,
                Err(CreateError::Taken)
            ),
            "names are unique regardless of case"
        );

        let found = db
            .find_player_by_name("alice")
            .await
            .expect("query")
            .expect("exists");
        assert_eq!(found, alice);
        assert_eq!(
            db.find_player(bob.id).await.expect("query").map(|p| p.role),
            Some(Role::Admin)
        );
        assert_eq!(db.find_player(u64::MAX).await.expect("query"), None);
        assert_eq!(db.find_player_by_name("carol").await.expect("query"), None);

        assert!(db.set_role("ALICE", Role::Admin).await.expect("update"));
        assert!(db.set_banned("alice", true).await.expect("update"));
        assert!(
            !db.set_banned("nobody", true).await.expect("update"),
            "no such player"
        );
        let changed = db
            .find_player(alice.id)
            .await
            .expect("query")
            .expect("exists");
        assert_eq!((changed.role, changed.banned), (Role::Admin, true));

        db.audit("bob", "pause", true, "paused")
            .await
            .expect("audit");
        db.audit("bob", "warp 9", false, "unknown command")
            .await
            .expect("audit");
        db.audit("Carol", "kick dave_1", true, "dave_1 disconnected 100%")
            .await
            .expect("audit");
        let log = db.recent_audit(10, "").await.expect("audit read");
        assert_eq!(log.len(), 3);
        assert_eq!((log[1].line.as_str(), log[1].ok), ("warp 9", false));
        assert_eq!((log[2].actor.as_str(), log[2].ok), ("bob", true));
        assert_eq!(db.recent_audit(2, "").await.expect("read").len(), 2);
        let lines = |log: Vec<AuditEntry>| log.into_iter().map(|e| e.line).collect::<Vec<_>>();
        let found = |filter: &'static str| {
            let db = db.clone();
            async move { lines(db.recent_audit(10, filter).await.expect("filtered")) }
        };
        assert_eq!(found("PAUSE").await, ["pause"], "any case, in the line");
        assert_eq!(found("carol").await, ["kick dave_1"], "in the actor");
        assert_eq!(found("unknown").await, ["warp 9"], "in the answer");
        assert_eq!(found("%").await, ["kick dave_1"], "wildcards are literal");
        assert_eq!(found("e_1").await, ["kick dave_1"]);
        assert_eq!(
            found("a_s").await,
            Vec::<String>::new(),
            "`_` is no wildcard"
        );

        // Reconnecting runs the migrations again without touching the data.
        drop(db);
        let again = Db::connect(&temp.url()).await.expect("reconnect");
        assert!(
            again
                .find_player_by_name("bob")
                .await
                .expect("query")
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_schema_from_a_newer_server_is_refused() {
        let temp = TempDb::new();
        let db = Db::connect(&temp.url()).await.expect("created");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99999, 'from the future', TRUE, x'00', 0)",
        )
        .execute(db.pool())
        .await
        .expect("insert a future migration");
        drop(db);
        let error = Db::connect(&temp.url()).await.expect_err("must refuse");
        assert!(
            matches!(error, DbError::SchemaTooNew { version: 99999, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("99999"), "{error}");
        assert!(!error.is_transient());
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            sqlite_url("sqlite://galaxy.db"),
            "sqlite://galaxy.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert_eq!(Backend::of("mysql://x"), None);
        assert_eq!(Backend::of("postgresql://x"), Some(Backend::Postgres));
    }
}
