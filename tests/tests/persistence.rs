//! World persistence with the real binary on SQLite and PostgreSQL: snapshots survive
//! a clean restart bit for bit with their owners, `kill -9` never leaves a torn
//! snapshot, a failed transaction keeps the previous one, bad rows are skipped, and a
//! PostgreSQL outage stops neither the ticks nor, once it is over, the snapshots.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::WireControls;
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::run_server;
use galaxy_tests::server::{PgDatabase, ServerProcess, ServerSetup, TempDir, free_tcp_port};
use serde_json::{Value, json};

const ROOT_PASSWORD: &str = "root-password-1";
const PILOT_PASSWORD: &str = "pilot-password-1";
/// Only explicit snapshots (admin, shutdown) unless a test asks for more.
const RARELY: (&str, &str) = ("GALAXY_PERSISTENCE__SNAPSHOT_INTERVAL_S", "3600");

/// Where a test's database lives: SQLite in a temp dir that outlives the servers, or
/// a throwaway PostgreSQL database.
enum Store {
    Sqlite(TempDir),
    Postgres(PgDatabase),
}

impl Store {
    fn sqlite() -> Self {
        Self::Sqlite(TempDir::new("galaxy-persist"))
    }

    fn postgres() -> Self {
        Self::Postgres(PgDatabase::create())
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(dir) => format!("sqlite://{}/galaxy.db", dir.path().display()),
            Self::Postgres(db) => db.url.clone(),
        }
    }
}

fn create_user(url: &str, name: &str, password: &str, admin: bool) {
    let created = ServerSetup::new(Some(url)).create_user(name, password, admin);
    assert!(
        created.status.success(),
        "create-user {name}: {}",
        String::from_utf8_lossy(&created.stderr)
    );
}

/// Starts a server and waits until it is ready: the simulation ticks, so any
/// restore has happened and been logged (`/health` answers before that).
fn start(url: &str, env: &[(&str, &str)]) -> ServerProcess {
    let server = ServerSetup::new(Some(url)).start(env);
    let ready = server.wait_for("/ready", 200, Duration::from_secs(60));
    assert_eq!(
        ready.status,
        200,
        "server never became ready: {}\n{}",
        ready.body,
        server.log()
    );
    server
}

fn root_token(server: &ServerProcess) -> String {
    let (status, body, _) = server.login("root", ROOT_PASSWORD);
    assert_eq!(status, 200, "root logs in: {body}");
    body["token"].as_str().expect("token").to_owned()
}

/// Runs an admin line over HTTP: (ok, output).
fn admin(server: &ServerProcess, token: &str, line: &str) -> (bool, String) {
    let reply = server.post(
        "/api/admin/command",
        &json!({ "line": line }).to_string(),
        Some(token),
    );
    assert_eq!(reply.status, 200, "{line}: {}", reply.body);
    let json = reply.json();
    (
        json["ok"].as_bool().unwrap_or(false),
        json["output"].as_str().unwrap_or_default().to_owned(),
    )
}

/// `snapshot` over HTTP; returns the id it reports.
fn snapshot(server: &ServerProcess, token: &str) -> i64 {
    let (ok, output) = admin(server, token, "snapshot");
    assert!(ok, "snapshot: {output}");
    output
        .strip_prefix("snapshot ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the answer names the snapshot: {output}"))
}

fn cli(url: &str, args: &[&str]) -> Value {
    let output = run_server(args, &[("DATABASE_URL", url)]);
    assert!(
        output.status.success(),
        "galaxy-server {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} prints JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn list(url: &str) -> Vec<Value> {
    cli(url, &["snapshots", "list", "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn show(url: &str, id: i64) -> Value {
    cli(url, &["snapshots", "show", &id.to_string(), "--json"])
}

/// A counter's value (0 until first counted).
fn metric(server: &ServerProcess, series: &str) -> u64 {
    server.metric(series) as u64
}

const SNAPSHOTS_WRITTEN: &str = r#"galaxy_snapshots_total{outcome="written"}"#;
const SNAPSHOTS_FAILED: &str = r#"galaxy_snapshots_total{outcome="failed"}"#;

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Logs the pilot in and connects; returns the bot once it has its welcome.
fn pilot(server: &ServerProcess) -> (Login, Bot) {
    let login = Login::request(&server.http_url(), "pilot", PILOT_PASSWORD).expect("pilot login");
    let mut bot = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(
        bot.wait_until(Duration::from_secs(10), |b| b.welcome.is_some()
            && b.state.is_some()),
        "the pilot is welcomed"
    );
    (login, bot)
}

/// The world of a `show --json`, without the tick (which runs while paused).
fn world_without_tick(shown: &Value) -> Value {
    let mut world = shown["world"].clone();
    world["clock"]["tick"] = Value::Null;
    if let Some(ships) = world["ships"].as_array_mut() {
        ships.sort_by_key(|ship| ship["owner"].to_string());
    }
    world
}

fn log_has(server: &ServerProcess, text: &str) -> bool {
    server.log().contains(text)
}

/// Snapshot → SIGTERM → restart → the same world bit for bit, and the pilot gets
/// the same ship back.
fn restart_restores_the_identical_world(store: &Store) {
    let url = store.url();
    create_user(&url, "root", ROOT_PASSWORD, true);
    create_user(&url, "pilot", PILOT_PASSWORD, false);
    let env = [RARELY, ("GALAXY_TICK__TIME_SCALE", "50")];

    let mut first = start(&url, &env);
    let token = root_token(&first);
    let (login, mut bot) = pilot(&first);
    // Burn and turn for a while so the ship's state is its own.
    bot.input(1.0, WireControls::Hold(HoldMode::Normal));
    bot.wait_until(Duration::from_millis(1500), |_| false);
    bot.input(0.0, WireControls::Rates([0.3, -0.2, 0.1]));
    bot.wait_until(Duration::from_millis(500), |_| false);
    drop(bot);
    let running = show(&url, snapshot(&first, &token));
    assert_eq!(running["world"]["clock"]["paused"], false);
    assert_eq!(running["world"]["ships"].as_array().map(Vec::len), Some(1));
    assert_eq!(running["world"]["ships"][0]["owner"][0], login.player);
    assert_eq!(running["world"]["ships"][0]["owner"][1], "pilot");

    assert!(admin(&first, &token, "timescale 20").0);
    assert!(admin(&first, &token, "pause").0);
    assert!(
        wait_until(Duration::from_secs(5), || admin(&first, &token, "status")
            .1
            .contains("paused")),
        "the clock pauses"
    );
    let status = first.terminate(Duration::from_secs(40));
    assert_eq!(status.code(), Some(130), "SIGTERM stops cleanly");
    assert!(log_has(&first, "final snapshot written"), "{}", first.log());
    let rows = list(&url);
    let final_id = rows[0]["id"].as_i64().expect("id");
    let at_shutdown = show(&url, final_id);
    let clock = &at_shutdown["world"]["clock"];
    assert_eq!(clock["paused"], true, "{clock}");
    assert_eq!(clock["time_scale"], 20.0, "{clock}");
    assert!(
        clock["game_time"].as_f64() > running["world"]["clock"]["game_time"].as_f64(),
        "time ran between the snapshots"
    );
    let fuel = at_shutdown["world"]["ships"][0]["fuel"]
        .as_f64()
        .unwrap_or(f64::NAN);
    assert!(fuel > 0.0, "fuel is there: {fuel}");

    let second = start(&url, &env);
    assert!(
        log_has(&second, &format!("restored snapshot {final_id}")),
        "{}",
        second.log()
    );
    let token = root_token(&second);
    let after_restart = show(&url, snapshot(&second, &token));
    assert_eq!(
        after_restart["state_hash"], at_shutdown["state_hash"],
        "the restored world is the one saved, bit for bit"
    );
    assert_eq!(
        world_without_tick(&after_restart),
        world_without_tick(&at_shutdown)
    );

    // The pilot logs in again and gets the same ship back: no second ship, same
    // owner, same state.
    let (again, mut bot) = pilot(&second);
    assert_eq!(again.player, login.player);
    let own = bot.state.as_ref().map(|s| s.own.flight);
    assert!(own.is_some(), "the pilot flies its ship");
    bot.wait_until(Duration::from_millis(300), |_| false);
    let with_pilot = show(&url, snapshot(&second, &token));
    assert_eq!(
        with_pilot["world"]["ships"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(with_pilot["state_hash"], at_shutdown["state_hash"]);
    drop(bot);
}

#[test]
fn restart_restores_the_identical_world_on_sqlite() {
    restart_restores_the_identical_world(&Store::sqlite());
}

#[test]
fn restart_restores_the_identical_world_on_postgres() {
    restart_restores_the_identical_world(&Store::postgres());
}

/// `kill -9` at random moments while snapshots are written every 0.2 s: every
/// restart restores a complete snapshot, and every stored row verifies.
fn kill_9_never_leaves_a_torn_snapshot(store: &Store) {
    let url = store.url();
    create_user(&url, "pilot", PILOT_PASSWORD, false);
    let env = [
        ("GALAXY_PERSISTENCE__SNAPSHOT_INTERVAL_S", "0.2"),
        ("GALAXY_TICK__TIME_SCALE", "1000"),
    ];
    let mut rng = fastrand::Rng::with_seed(9);
    let mut last_tick = 0;
    for round in 0..6 {
        let mut server = start(&url, &env);
        if round == 0 {
            let (_, bot) = pilot(&server);
            drop(bot);
        } else {
            let log = server.log();
            assert!(log.contains("restored snapshot"), "round {round}: {log}");
            assert!(!log.contains("unusable"), "round {round}: {log}");
        }
        assert!(
            wait_until(Duration::from_secs(10), || metric(
                &server,
                SNAPSHOTS_WRITTEN
            ) > 0),
            "snapshots are written"
        );
        std::thread::sleep(Duration::from_millis(rng.u64(50..900)));
        server.kill_hard();
        let rows = list(&url);
        assert!(!rows.is_empty());
        let newest = show(&url, rows[0]["id"].as_i64().expect("id"));
        let tick = newest["info"]["tick"].as_u64().expect("tick");
        assert!(tick > last_tick, "round {round}: the world moved on");
        last_tick = tick;
        assert_eq!(newest["world"]["ships"].as_array().map(Vec::len), Some(1));
    }
    for row in list(&url) {
        let id = row["id"].as_i64().expect("id");
        assert_eq!(show(&url, id)["info"]["id"], id, "snapshot {id} verifies");
    }
}

#[test]
fn kill_9_never_leaves_a_torn_snapshot_on_sqlite() {
    kill_9_never_leaves_a_torn_snapshot(&Store::sqlite());
}

#[test]
fn kill_9_never_leaves_a_torn_snapshot_on_postgres() {
    kill_9_never_leaves_a_torn_snapshot(&Store::postgres());
}

/// A statement failing inside the snapshot transaction (the test hook) rolls the
/// whole snapshot back; the previous one is still what a restart loads.
fn an_error_halfway_keeps_the_previous_snapshot(store: &Store) {
    let url = store.url();
    create_user(&url, "root", ROOT_PASSWORD, true);
    let mut server = start(
        &url,
        &[RARELY, ("GALAXY_TEST_FAIL_SNAPSHOT_WRITES_FROM", "2")],
    );
    let token = root_token(&server);
    let good = snapshot(&server, &token);
    let (ok, output) = admin(&server, &token, "snapshot");
    assert!(!ok, "the second write fails: {output}");
    assert!(output.contains("not written yet"), "{output}");
    assert!(metric(&server, SNAPSHOTS_FAILED) >= 1);
    let rows = list(&url);
    assert_eq!(
        rows.len(),
        1,
        "nothing of the failed snapshot remains: {rows:?}"
    );
    assert_eq!(rows[0]["id"], good);
    let saved = show(&url, good);
    server.kill_hard();

    let restarted = start(&url, &[RARELY]);
    assert!(
        log_has(&restarted, &format!("restored snapshot {good}")),
        "{}",
        restarted.log()
    );
    let token = root_token(&restarted);
    let again = show(&url, snapshot(&restarted, &token));
    assert!(again["info"]["tick"].as_u64() >= saved["info"]["tick"].as_u64());
    assert_eq!(
        again["world"]["body_names"], saved["world"]["body_names"],
        "the same world continues"
    );
}

#[test]
fn an_error_halfway_keeps_the_previous_snapshot_on_sqlite() {
    an_error_halfway_keeps_the_previous_snapshot(&Store::sqlite());
}

#[test]
fn an_error_halfway_keeps_the_previous_snapshot_on_postgres() {
    an_error_halfway_keeps_the_previous_snapshot(&Store::postgres());
}

async fn insert_raw(url: &str, format_version: i64, data: Vec<u8>) -> i64 {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let row = sqlx::query(
        "INSERT INTO snapshots (created_at, tick, game_time, format_version, ship_count, \
         size_bytes, checksum, data) VALUES (0, 999999, 0.0, $1, 0, $2, 0, $3) RETURNING id",
    )
    .bind(format_version)
    .bind(data.len() as i64)
    .bind(data)
    .fetch_one(&pool)
    .await
    .expect("insert");
    let id = row.try_get("id").expect("id");
    pool.close().await;
    id
}

async fn blob(url: &str, id: i64) -> Vec<u8> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("connect");
    let row = sqlx::query("SELECT data FROM snapshots WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("row");
    pool.close().await;
    row.try_get("data").expect("data")
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// A garbage row and a row from a future format are skipped with errors naming
/// them; the snapshot before them is restored. `snapshots restore ID` then picks an
/// older one for the next start.
fn bad_rows_are_skipped(store: &Store) {
    let url = store.url();
    create_user(&url, "root", ROOT_PASSWORD, true);
    let mut server = start(&url, &[RARELY]);
    let token = root_token(&server);
    let older = snapshot(&server, &token);
    assert_eq!(server.terminate(Duration::from_secs(40)).code(), Some(130));
    let good = list(&url)[0]["id"].as_i64().expect("id");
    assert_ne!(good, older, "the shutdown snapshot is newer");

    let newer = galaxy_formats::snapshot::FORMAT_VERSION + 1;
    let mut future = block_on(blob(&url, good));
    future[8..12].copy_from_slice(&newer.to_le_bytes());
    let future_id = block_on(insert_raw(&url, i64::from(newer), future));
    let garbage_id = block_on(insert_raw(&url, 1, b"this is not a snapshot".to_vec()));

    let mut restarted = start(&url, &[RARELY]);
    let log = restarted.log();
    assert!(
        log.contains(&format!("snapshot {garbage_id} is unusable: corrupt")),
        "{log}"
    );
    assert!(
        log.contains(&format!("snapshot {future_id} is unusable"))
            && log.contains(&format!("format version {newer} is newer")),
        "{log}"
    );
    assert!(log.contains(&format!("restored snapshot {good}")), "{log}");
    restarted.kill_hard();

    // An operator picks the older snapshot.
    let output = run_server(
        &["snapshots", "restore", &older.to_string()],
        &[("DATABASE_URL", url.as_str())],
    );
    assert!(output.status.success(), "{output:?}");
    let refused = run_server(
        &["snapshots", "restore", &garbage_id.to_string()],
        &[("DATABASE_URL", url.as_str())],
    );
    assert!(
        !refused.status.success(),
        "a corrupt snapshot is not restorable"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!("snapshot {garbage_id}")),
        "{refused:?}"
    );
    let copy = list(&url)[0].clone();
    assert_eq!(copy["restored_from"], older);
    let copy_id = copy["id"].as_i64().expect("id");
    let picked = start(&url, &[RARELY]);
    assert!(
        log_has(&picked, &format!("restored snapshot {copy_id}")),
        "{}",
        picked.log()
    );
    assert_eq!(
        show(&url, copy_id)["state_hash"],
        show(&url, older)["state_hash"]
    );
    let text = run_server(&["snapshots", "list"], &[("DATABASE_URL", url.as_str())]);
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(table.contains(&format!("copy of {older}")), "{table}");
}

#[test]
fn bad_rows_are_skipped_on_sqlite() {
    bad_rows_are_skipped(&Store::sqlite());
}

#[test]
fn bad_rows_are_skipped_on_postgres() {
    bad_rows_are_skipped(&Store::postgres());
}

/// A PostgreSQL cluster of the test's own (initdb + pg_ctl, trust auth) that can be
/// stopped and started under a running server.
struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn new() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed under /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("an initdb");
        let dir = TempDir::new("galaxy-pg");
        let cluster = Self {
            dir,
            bin,
            port: free_tcp_port(),
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster dir to postgres");
        }
        let data = cluster.dir.path().join("db");
        cluster.run(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
            ],
        );
        cluster.start();
        cluster
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let output = command.args(args).output().expect("PostgreSQL tool runs");
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(&self) {
        let dir = self.dir.path();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &dir.join("db").to_string_lossy(),
                "-l",
                &dir.join("log").to_string_lossy(),
                "-o",
                &format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1",
                    self.port,
                    dir.display()
                ),
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        let data = self.dir.path().join("db");
        self.run(
            "pg_ctl",
            &["-D", &data.to_string_lossy(), "-m", "fast", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("db");
        let exe = self.bin.join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let _ = command
            .args(["-D", &data.to_string_lossy(), "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn postgres_stopped_during_play_then_snapshots_resume() {
    let cluster = Cluster::new();
    let url = cluster.url();
    create_user(&url, "pilot", PILOT_PASSWORD, false);
    let server = start(&url, &[("GALAXY_PERSISTENCE__SNAPSHOT_INTERVAL_S", "0.5")]);
    assert!(
        wait_until(Duration::from_secs(10), || metric(
            &server,
            SNAPSHOTS_WRITTEN
        ) > 0),
        "snapshots are written"
    );

    cluster.stop();
    let ready = server.wait_for("/ready", 503, Duration::from_secs(10));
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.json()["simulation"], "up", "{}", ready.body);
    let (status, body, _) = server.login("pilot", PILOT_PASSWORD);
    assert_eq!(status, 503, "login without the database: {body}");
    assert!(
        wait_until(Duration::from_secs(10), || metric(
            &server,
            SNAPSHOTS_FAILED
        ) > 0),
        "snapshot writes fail while it is down"
    );
    let ticks = metric(&server, "galaxy_ticks_total");
    let written = metric(&server, SNAPSHOTS_WRITTEN);
    std::thread::sleep(Duration::from_secs(4));
    let later = metric(&server, "galaxy_ticks_total");
    assert!(later >= ticks + 60, "ticks keep running: {ticks} → {later}");
    assert_eq!(
        metric(&server, SNAPSHOTS_WRITTEN),
        written,
        "nothing is written while it is down"
    );

    cluster.start();
    let ready = server.wait_for("/ready", 200, Duration::from_secs(20));
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert!(
        wait_until(Duration::from_secs(15), || metric(
            &server,
            SNAPSHOTS_WRITTEN
        ) > written),
        "snapshots resume without a restart:\n{}",
        server.log()
    );
    // The first write may be the snapshot left pending when the database went away;
    // the world as it is after the outage must follow.
    let newest_tick = || list(&url).first().and_then(|row| row["tick"].as_u64());
    assert!(
        wait_until(Duration::from_secs(15), || newest_tick() > Some(later)),
        "a snapshot taken after the outage is written: newest tick {:?}, outage ended after tick {later}",
        newest_tick()
    );
    let (status, body, _) = server.login("pilot", PILOT_PASSWORD);
    assert_eq!(status, 200, "login works again: {body}");
}
