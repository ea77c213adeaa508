//! `galaxy-admin` against the real server: console lines with their replies, JSON
//! data for scripts, the cached session, and the exit codes that tell refused,
//! failed and unreachable apart.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use galaxy_tests::server::{ServerProcess, ServerSetup, TempDir};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

fn admin(server: &str, config_home: &Path, password: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_galaxy-admin"))
        .args(["--server", server])
        .args(args)
        .env("XDG_CONFIG_HOME", config_home)
        .env("GALAXY_ADMIN_PASSWORD", password)
        .env_remove("GALAXY_SERVER")
        .env_remove("GALAXY_ADMIN_USER")
        .output()
        .expect("galaxy-admin runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            stdout(output),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn server_with_root() -> ServerProcess {
    let setup = ServerSetup::new(None);
    setup.create_admin("root", PASSWORD);
    let made = setup.create_user("ada", PASSWORD, false);
    assert!(made.status.success(), "{made:?}");
    setup.start(&[])
}

#[test]
fn console_lines_run_with_the_consoles_replies_and_json_data() {
    let server = server_with_root();
    let home = TempDir::new("galaxy-admin");
    let url = server.http_url();

    let status = admin(&url, home.path(), PASSWORD, &["status"]);
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    assert!(stdout(&status).contains("tick"), "{}", stdout(&status));

    // With nobody online the cap is the rate; it rises once it has held 3 s.
    let set = admin(&url, home.path(), PASSWORD, &["timescale", "1000"]);
    assert_eq!(set.status.code(), Some(0), "{set:?}");
    let wait_for = |done: &dyn Fn(&serde_json::Value) -> bool| {
        let started = Instant::now();
        loop {
            let status = json(&admin(&url, home.path(), PASSWORD, &["--json", "status"]));
            if done(&status["data"]) || started.elapsed() > Duration::from_secs(10) {
                break status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let status = wait_for(&|data| data["time_scale"] == 1000.0);
    assert_eq!(status["ok"], true);
    assert_eq!(status["data"]["time_scale"], 1000.0, "{status:#}");
    assert_eq!(status["data"]["warp_cap"], 1000.0, "{status:#}");
    assert!(status["data"]["tick"].as_u64().is_some(), "{status:#}");
    let forced = admin(&url, home.path(), PASSWORD, &["timescale", "force", "7"]);
    assert_eq!(stdout(&forced).trim(), "clock forced to x7", "{forced:?}");
    let status = wait_for(&|data| data["time_scale"] == 7.0);
    assert_eq!(status["data"]["warp_forced"], true, "{status:#}");
    assert_eq!(
        status["data"]["warp_reason"], "forced by an admin",
        "{status:#}"
    );

    let players = json(&admin(&url, home.path(), PASSWORD, &["--json", "players"]));
    assert_eq!(
        players["data"],
        serde_json::json!([]),
        "nobody is in the game: {players:#}"
    );

    let unknown = admin(&url, home.path(), PASSWORD, &["frobnicate"]);
    assert_eq!(
        unknown.status.code(),
        Some(1),
        "an unknown command is refused: {unknown:?}"
    );
}

#[test]
fn the_session_is_cached_until_asked_to_log_in_afresh() {
    let server = server_with_root();
    let home = TempDir::new("galaxy-admin");
    let url = server.http_url();
    assert_eq!(
        admin(&url, home.path(), PASSWORD, &["status"])
            .status
            .code(),
        Some(0)
    );
    let cache = home.path().join("galaxy/admin-sessions.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache)
            .expect("the session is cached")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the cache is the owner's alone: {mode:o}");
    }
    // The cached token needs no password...
    let cached = admin(&url, home.path(), "a wrong password", &["status"]);
    assert_eq!(cached.status.code(), Some(0), "{cached:?}");
    // ...and --fresh logs in again, where the wrong password is refused.
    let fresh = admin(
        &url,
        home.path(),
        "a wrong password",
        &["--fresh", "status"],
    );
    assert_eq!(fresh.status.code(), Some(1), "{fresh:?}");
    assert!(String::from_utf8_lossy(&fresh.stderr).contains("wrong username or password"));
}

#[test]
fn players_are_refused_and_a_dead_address_is_unreachable() {
    let server = server_with_root();
    let home = TempDir::new("galaxy-admin");
    let player = admin(
        &server.http_url(),
        home.path(),
        PASSWORD,
        &["--user", "ada", "status"],
    );
    assert_eq!(player.status.code(), Some(1), "{player:?}");
    assert!(String::from_utf8_lossy(&player.stderr).contains("not an admin"));

    let port = galaxy_tests::server::free_tcp_port();
    let dead = admin(
        &format!("http://127.0.0.1:{port}"),
        home.path(),
        PASSWORD,
        &["--json", "status"],
    );
    assert_eq!(dead.status.code(), Some(4), "{dead:?}");
    assert_eq!(json(&dead)["ok"], false);
}
