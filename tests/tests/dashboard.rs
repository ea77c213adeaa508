//! The admin dashboard at `/admin`, used in headless Chromium by
//! `web/tests/dashboard.mjs` against the real server with two native bots online:
//! a player account is refused, pause stops the game date, resume restarts it, a
//! kick takes the bot's row away and the bot off the server, the audit log reads
//! newest first and filters, and the charts draw the history.
//!
//! `GALAXY_UPDATE_SCREENSHOT=1` copies the picture to `docs/dashboard.png`.

use std::time::Duration;

use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::WireControls;
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::browser::{Script, require_browser};
use galaxy_tests::picture::Picture;
use galaxy_tests::repo_root;
use galaxy_tests::server::{ServerSetup, TempDir};

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(15);
/// Log-ins, a pause of 2.5 s, the kick, and two history samples (10 s apart).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn online(server: &str, name: &str, throttle: f32) -> Bot {
    let login = Login::register_and_login(server, name, PASSWORD).expect("bot registers");
    let mut bot = Bot::connect(&login, Transport::Udp).expect("bot connects");
    assert!(
        bot.wait_until(WAIT, |b| b.welcome.is_some() && b.state.is_some()),
        "{name} got no state"
    );
    bot.input(throttle, WireControls::Hold(HoldMode::Stability));
    bot
}

#[test]
fn an_admin_pauses_resumes_and_kicks_from_the_dashboard_in_headless_chromium() {
    require_browser();
    let setup = ServerSetup::new(None);
    setup.create_admin("root", PASSWORD);
    let server = setup.start(&[]);
    let url = server.http_url();
    assert_eq!(server.register("pilot", PASSWORD), 201);
    let mut bob = online(&url, "bob", 0.0);
    let mut carol = online(&url, "carol", 0.4);

    let dir = TempDir::new("galaxy-dashboard");
    let screenshot = dir.path().join("dashboard.png");
    let shot = screenshot.display().to_string();
    let script = Script::start(
        "dashboard.mjs",
        &[&url, "root", PASSWORD, "pilot", PASSWORD, "bob", &shot],
    );
    let report = script.report(
        RUN_TIMEOUT,
        || {
            for bot in [&mut bob, &mut carol] {
                if bot.is_connected() {
                    bot.input(0.4, WireControls::Hold(HoldMode::Stability));
                }
                bot.pump();
            }
        },
        || server.log(),
    );
    assert_eq!(report["ok"], true, "{report:#}\n{}", server.log());
    assert_eq!(
        report["console_errors"].as_array().map(Vec::len),
        Some(0),
        "{report:#}"
    );

    assert!(
        report["refusal"]
            .as_str()
            .is_some_and(|t| t.contains("player account")),
        "a player account is refused: {report:#}"
    );
    assert_eq!(
        report["paused"]["first"], report["paused"]["later"],
        "the game date stood still while paused: {report:#}"
    );
    assert_ne!(
        report["resumed"]["from"], report["resumed"]["to"],
        "{report:#}"
    );

    // The kick reached the game: bob was told and is gone; carol stays.
    assert!(
        bob.wait_until(WAIT, |b| b.is_disconnected()),
        "bob is still connected\n{}",
        server.log()
    );
    assert!(
        bob.errors.iter().any(|e| e.contains("kicked")),
        "bob's errors: {:?}",
        bob.errors
    );
    assert!(carol.is_connected());
    assert_eq!(report["players_before"], 2, "{report:#}");
    assert_eq!(report["players_after"], 1, "{report:#}");

    assert_eq!(report["audit_newest"], "kick bob", "{report:#}");
    let filtered: Vec<&str> = report["audit_filtered"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        filtered,
        ["pause"],
        "the filter keeps only `pause`: {report:#}"
    );
    assert!(
        report["chart_samples"].as_u64().is_some_and(|n| n >= 2),
        "{report:#}"
    );
    let points = report["chart_points"].as_str().unwrap_or("");
    assert!(
        points.split(' ').count() >= 2,
        "the tick chart draws a line through the samples: {points:?}"
    );

    let picture = Picture::open(&screenshot).expect("the browser saved a PNG");
    picture.assert_not_blank();
    if std::env::var("GALAXY_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = repo_root().join("docs/dashboard.png");
        std::fs::copy(&screenshot, &docs).expect("docs/ is writable");
        eprintln!("updated {}", docs.display());
    }
    drop(script);
}
