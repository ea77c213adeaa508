//! The `snapshots` table: one row per snapshot, written in one transaction with the
//! pruning of old rows, read newest first, skipping rows that do not verify.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::format::{EncodedSnapshot, FORMAT_VERSION, FormatError, WorldSnapshot, header_checksum};
use crate::db::{Db, DbError};

/// Fault-injection hook for the end-to-end tests, never set in production: from the
/// N-th snapshot write attempt of the process on (1-based), the transaction fails
/// halfway, after the snapshot row is inserted and before the commit, by inserting a
/// NULL into a NOT NULL column.
pub const FAIL_WRITES_FROM_ENV: &str = "GALAXY_TEST_FAIL_SNAPSHOT_WRITES_FROM";

/// A row's facts, without its data.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SnapshotInfo {
    /// Row id; newer snapshots have larger ids.
    pub id: i64,
    /// Unix seconds when written.
    pub created_at: i64,
    /// Tick it was taken at.
    pub tick: i64,
    /// Game time it was taken at (TDB s since J2000).
    pub game_time: f64,
    /// Blob format version.
    pub format_version: i64,
    /// Ships in it.
    pub ship_count: i64,
    /// Blob size.
    pub size_bytes: i64,
    /// The snapshot this row copies, when an operator asked to restore it.
    pub restored_from: Option<i64>,
}

/// Why a stored snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The row is not a usable snapshot.
    #[error("snapshot {id} is unusable: {error}")]
    Unusable {
        /// Row id.
        id: i64,
        /// Why.
        error: FormatError,
    },
    /// No such row.
    #[error("no snapshot with id {0}")]
    Missing(i64),
}

const INFO_COLUMNS: &str =
    "id, created_at, tick, game_time, format_version, ship_count, size_bytes, restored_from";

fn info_from_row(row: &AnyRow) -> Result<SnapshotInfo, sqlx::Error> {
    Ok(SnapshotInfo {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        tick: row.try_get("tick")?,
        game_time: row.try_get("game_time")?,
        format_version: row.try_get("format_version")?,
        ship_count: row.try_get("ship_count")?,
        size_bytes: row.try_get("size_bytes")?,
        restored_from: row.try_get("restored_from")?,
    })
}

fn as_i64(value: u64) -> i64 {
    i64::from_le_bytes(value.to_le_bytes())
}

/// Inserts the snapshot and prunes to the newest `keep`, in one transaction;
/// `attempt` is the process-wide write attempt number (for the fault hook).
pub async fn insert(
    db: &Db,
    snapshot: &EncodedSnapshot,
    keep: u32,
    fail_from: Option<u64>,
    attempt: u64,
) -> Result<i64, DbError> {
    let mut tx = db.pool().begin().await?;
    let row = sqlx::query(
        "INSERT INTO snapshots (created_at, tick, game_time, format_version, ship_count, \
         size_bytes, checksum, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(unix_now())
    .bind(as_i64(snapshot.tick))
    .bind(snapshot.game_time)
    .bind(i64::from(FORMAT_VERSION))
    .bind(snapshot.ship_count as i64)
    .bind(snapshot.bytes.len() as i64)
    .bind(as_i64(snapshot.checksum))
    .bind(snapshot.bytes.as_slice())
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get("id")?;
    if fail_from.is_some_and(|from| attempt >= from) {
        // The fault hook: a statement that fails inside the transaction.
        sqlx::query("INSERT INTO snapshots (created_at) VALUES (NULL)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "DELETE FROM snapshots WHERE id NOT IN \
         (SELECT id FROM snapshots ORDER BY id DESC LIMIT $1)",
    )
    .bind(i64::from(keep.max(1)))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Every snapshot's facts, newest first.
pub async fn list(db: &Db) -> Result<Vec<SnapshotInfo>, DbError> {
    let rows = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS} FROM snapshots ORDER BY id DESC"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(info_from_row).collect::<Result<_, _>>()?)
}

/// Loads and verifies one snapshot: the row's version and checksum must agree with
/// the blob's header and the blob must verify.
pub async fn load(db: &Db, id: i64) -> Result<(SnapshotInfo, WorldSnapshot), LoadError> {
    let row = sqlx::query(&format!(
        "SELECT {INFO_COLUMNS}, checksum, data FROM snapshots WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?
    .ok_or(LoadError::Missing(id))?;
    let unusable = |error| LoadError::Unusable { id, error };
    let corrupt = |why: String| LoadError::Unusable {
        id,
        error: FormatError::Corrupt(why),
    };
    let info = info_from_row(&row).map_err(|e| corrupt(e.to_string()))?;
    let checksum: i64 = row
        .try_get("checksum")
        .map_err(|e| corrupt(e.to_string()))?;
    let data: Vec<u8> = row.try_get("data").map_err(|e| corrupt(e.to_string()))?;
    if info.format_version > i64::from(FORMAT_VERSION) {
        return Err(unusable(FormatError::FutureVersion {
            found: u32::try_from(info.format_version).unwrap_or(u32::MAX),
        }));
    }
    let snapshot = WorldSnapshot::decode(&data).map_err(unusable)?;
    if header_checksum(&data).map(as_i64) != Ok(checksum) {
        return Err(corrupt("the row's checksum differs from the blob's".into()));
    }
    let blob_version = if snapshot.inertial_offsets {
        1
    } else {
        FORMAT_VERSION
    };
    if info.format_version != i64::from(blob_version) || info.tick != as_i64(snapshot.clock.tick) {
        return Err(corrupt(format!(
            "the row (version {}, tick {}) does not match its blob",
            info.format_version, info.tick
        )));
    }
    Ok((info, snapshot))
}

/// Marks snapshot `id` as the one the next start loads, by copying it as the newest
/// row (`restored_from` = `id`). The copy is verified first.
pub async fn copy_as_newest(db: &Db, id: i64) -> Result<i64, LoadError> {
    load(db, id).await?;
    let row = sqlx::query(
        "INSERT INTO snapshots (created_at, tick, game_time, format_version, ship_count, \
         size_bytes, checksum, restored_from, data) \
         SELECT $1, tick, game_time, format_version, ship_count, size_bytes, checksum, id, data \
         FROM snapshots WHERE id = $2 RETURNING id",
    )
    .bind(unix_now())
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .map_err(DbError::from)?
    .ok_or(LoadError::Missing(id))?;
    Ok(row.try_get::<i64, _>("id").map_err(DbError::from)?)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
