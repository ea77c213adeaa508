//! `galaxy-server snapshots list|show|restore`: operators' view of the snapshots.

use std::process::ExitCode;

use galaxy_shared::units::CalendarTime;

use super::store::{self, LoadError, SnapshotInfo};
use crate::config::Config;
use crate::db::Db;

/// Snapshot commands.
#[derive(clap::Subcommand, Debug)]
pub enum SnapshotsCommand {
    /// List the snapshots, newest first: id, created, tick, game time, ships, size.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print one snapshot's decoded world (verifying it).
    Show {
        /// Snapshot id.
        id: i64,
        /// Print the whole world as JSON (default: a summary).
        #[arg(long)]
        json: bool,
    },
    /// Make snapshot ID the one the next start loads: it is verified and copied as
    /// the newest snapshot (the copy's `restored_from` names ID). Restart the server
    /// afterwards; a running server's next snapshot would supersede the copy.
    Restore {
        /// Snapshot id.
        id: i64,
    },
}

/// Runs a snapshot command against `DATABASE_URL`.
pub fn run(config: &Config, command: SnapshotsCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("galaxy-server: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(config, command)) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("galaxy-server: {error}");
            ExitCode::from(2)
        }
    }
}

async fn execute(config: &Config, command: SnapshotsCommand) -> Result<String, String> {
    let db = Db::connect(&config.persistence.database_url)
        .await
        .map_err(|e| e.to_string())?;
    match command {
        SnapshotsCommand::List { json } => {
            let rows = store::list(&db).await.map_err(|e| e.to_string())?;
            if json {
                serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())
            } else {
                Ok(table(&rows))
            }
        }
        SnapshotsCommand::Show { id, json } => {
            let (info, snapshot) = store::load(&db, id).await.map_err(|e| e.to_string())?;
            let hash = format!("{:016x}", snapshot.state_hash());
            if json {
                let value = serde_json::json!({
                    "info": info,
                    "state_hash": hash,
                    "world": snapshot,
                });
                serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
            } else {
                Ok(format!(
                    "{}\nstate hash {hash} | {} | scale {} | {} bodies",
                    table(&[info]),
                    if snapshot.clock.paused {
                        "paused"
                    } else {
                        "running"
                    },
                    snapshot.clock.time_scale,
                    snapshot.body_names.len()
                ))
            }
        }
        SnapshotsCommand::Restore { id } => match store::copy_as_newest(&db, id).await {
            Ok(copy) => Ok(format!(
                "snapshot {id} copied as snapshot {copy}: the next start restores it"
            )),
            Err(LoadError::Db(error)) => Err(error.to_string()),
            Err(error) => Err(format!("{error}; nothing changed")),
        },
    }
}

fn table(rows: &[SnapshotInfo]) -> String {
    let mut out = format!(
        "{:>6}  {:<19}  {:>10}  {:<23}  {:>7}  {:>11}  note",
        "id", "created (UTC)", "tick", "game time", "ships", "size"
    );
    for row in rows {
        let note = row
            .restored_from
            .map(|from| format!("copy of {from}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n{:>6}  {:<19}  {:>10}  {:<23}  {:>7}  {:>11}  {note}",
            row.id,
            utc(row.created_at),
            row.tick,
            CalendarTime::from_game_time(row.game_time).to_string(),
            row.ship_count,
            human_size(row.size_bytes),
        ));
    }
    if rows.is_empty() {
        out.push_str("\n(no snapshots)");
    }
    out
}

/// Unix seconds as a UTC date (leap seconds ignored; Hinnant's civil-from-days).
fn utc(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / f64::from(1 << 10)),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes_read_well() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(3 << 20), "3.0 MiB");
    }
}
