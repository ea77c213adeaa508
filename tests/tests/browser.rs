//! End-to-end in headless Chromium: the real server serves the built browser client
//! (`scripts/build-web.sh`, `dist/`), `web/tests/play.mjs` plays it as a person
//! would (keyboard into the login screen, Register, Shift for throttle), and this
//! test checks from outside the page: the title's states, the browser player's
//! throttle in the admin `players` reply, a native bot and the browser player
//! seeing each other, and the screenshot's pixels.
//!
//! `GALAXY_UPDATE_SCREENSHOT=1` copies the picture to `docs/browser.png`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::WireControls;
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::browser::{Script, require_browser};
use galaxy_tests::picture::{Picture, brighter_than_space};
use galaxy_tests::repo_root;
use galaxy_tests::server::{ServerSetup, TempDir};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(15);
/// Download, compile, SwiftShader's first pipelines, login and the first state.
const PLAY_TIMEOUT: Duration = Duration::from_secs(240);
/// Longest a frame may take once the page is online: half the server's timeout for a
/// silent client (`net.client_timeout_s`, 15 s).
const LONGEST_ONLINE_FRAME_MS: f64 = 7_500.0;

/// The built client, or a failure that says how to build it.
fn dist() -> PathBuf {
    let dist =
        std::env::var_os("GALAXY_WEB_DIST").map_or_else(|| repo_root().join("dist"), PathBuf::from);
    assert!(
        dist.join("index.html").is_file(),
        "no browser client in {}: build it with scripts/build-web.sh --fast (scripts/test.sh does)",
        dist.display()
    );
    dist
}

/// Keeps the bot's link as a client's is: pumped, with a zero input that
/// acknowledges its newest state (without acks every own-ship state is a full
/// keyframe, which leaves no byte budget for other ships).
fn fly_along(bot: &mut Bot) {
    bot.input(0.0, WireControls::Hold(HoldMode::Stability));
    bot.pump();
}

/// Milliseconds after navigation at which the page first showed `title`.
fn shown_at(report: &Value, title: &str) -> Option<f64> {
    report["titles"]
        .as_array()?
        .iter()
        .find(|t| t["title"] == title)
        .and_then(|t| t["ms"].as_f64())
}

/// The percentage after `throttle ` in `name`'s line of the `players` reply.
fn throttle_of(players: &str, name: &str) -> Option<f64> {
    let line = players
        .lines()
        .find(|l| l.starts_with(&format!("{name} (")))?;
    let after = line.split("throttle ").nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_player_logs_in_and_flies_in_headless_chromium_beside_a_native_bot() {
    let dist = dist();
    require_browser();
    let setup = ServerSetup::new(None);
    setup.create_admin("watcher", PASSWORD);
    let dist_text = dist.display().to_string();
    let server = setup.start(&[("GALAXY_WEB__DIR", dist_text.as_str())]);
    let login = Login::request(&server.http_url(), "watcher", PASSWORD).expect("watcher logs in");
    let mut watcher = Bot::connect(&login, Transport::Udp).expect("bot connects");
    assert!(
        watcher.wait_until(WAIT, |b| b.welcome.is_some() && b.state.is_some()),
        "the native bot got no state\n{}",
        server.log()
    );

    let dir = TempDir::new("galaxy-browser");
    let screenshot = dir.path().join("browser.png");
    let page = format!("{}/", server.http_url());
    let shot = screenshot.display().to_string();
    let player = Script::start("play.mjs", &[&page, "pilot", PASSWORD, &shot]);
    let report = player.report(PLAY_TIMEOUT, || fly_along(&mut watcher), || server.log());
    assert_eq!(
        report["ok"],
        true,
        "the browser run failed: {report:#}\n{}",
        server.log()
    );

    // The title went login → connecting → connected, in that order.
    let login_ms = shown_at(&report, "Galaxy — login").expect("showed login");
    let connecting_ms = shown_at(&report, "Galaxy — connecting").expect("showed connecting");
    let connected_ms = shown_at(&report, "Galaxy — connected").expect("showed connected");
    assert!(
        login_ms < connecting_ms && connecting_ms < connected_ms,
        "titles out of order: {}",
        report["titles"]
    );
    assert!(
        shown_at(&report, "Galaxy — disconnected").is_none(),
        "{}",
        report["titles"]
    );
    // The surface maps came from dist/assets, after the first frame (the login
    // screen is drawn by the game), so they are not part of the first download.
    let textures = report["textures"].as_array().cloned().unwrap_or_default();
    assert!(textures.len() >= 9, "textures fetched: {textures:?}");
    for texture in &textures {
        assert_eq!(texture["status"], 200, "{texture}");
        let ms = texture["ms"].as_f64().unwrap_or(0.0);
        assert!(
            ms > login_ms,
            "{texture} arrived before the first frame ({login_ms} ms)"
        );
    }

    // The shader warm-up drew Earth's look behind the login screen, so its maps were
    // in before the game went online, and once online no frame comes near the
    // server's timeout.
    let earth_ms = textures
        .iter()
        .find(|t| t["path"] == "/assets/textures/earth.png")
        .and_then(|t| t["ms"].as_f64());
    assert!(
        earth_ms.is_some_and(|ms| ms < connecting_ms),
        "Earth's map arrived at {earth_ms:?} ms, connecting at {connecting_ms} ms"
    );
    let longest = report["longest_online_frame_ms"]
        .as_f64()
        .unwrap_or(f64::INFINITY);
    assert!(
        longest < LONGEST_ONLINE_FRAME_MS,
        "a frame of {longest:.0} ms while connected (the server drops a client silent for 15 s)"
    );

    // Shift in the browser moved the throttle of the browser player's ship.
    let (ok, players) = watcher.admin("players", WAIT).expect("players answers");
    assert!(ok, "{players}");
    let throttle = throttle_of(&players, "pilot");
    assert!(
        throttle.is_some_and(|t| t > 0.0),
        "the browser player's throttle after holding Shift: {throttle:?}\n{players}"
    );

    // Each sees the other's ship.
    let deadline = Instant::now() + WAIT;
    while watcher.ships_seen.is_empty() && Instant::now() < deadline {
        fly_along(&mut watcher);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !watcher.ships_seen.is_empty(),
        "the native bot never saw the browser player's ship: {} states, connected {}, errors {:?}; players:\n{players}",
        watcher.states_received,
        watcher.is_connected(),
        watcher.errors
    );
    assert!(
        report["ships_in_view"].as_u64().is_some_and(|n| n >= 1),
        "the browser player knows of no other ship: {report:#}"
    );

    // The canvas follows the window, and a device pixel ratio change after start.
    assert_eq!(
        report["resized"]["after_resize"],
        serde_json::json!([960, 600]),
        "{report:#}"
    );
    assert_eq!(
        report["resized"]["after_dpr_2"],
        serde_json::json!([1280, 800]),
        "{report:#}"
    );

    // The picture: not blank, and Earth's ground (its surface map, lit) fills a
    // large share of it where space would be black.
    let picture = Picture::open(&screenshot).expect("the browser saved a PNG");
    picture.assert_not_blank();
    let earth = picture.share(brighter_than_space);
    assert!(earth > 0.15, "Earth covers {earth:.3} of the screenshot");

    eprintln!(
        "browser: first frame {:.1} s, connected {:.1} s after navigation; frame mean {:.1} ms, p95 {:.1} ms over {} frames; Earth {:.0} %",
        login_ms / 1e3,
        connected_ms / 1e3,
        report["frames"]["mean_ms"].as_f64().unwrap_or(f64::NAN),
        report["frames"]["p95_ms"].as_f64().unwrap_or(f64::NAN),
        report["frames"]["count"],
        earth * 100.0
    );
    if std::env::var("GALAXY_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = repo_root().join("docs/browser.png");
        std::fs::copy(&screenshot, &docs).expect("docs/ is writable");
        eprintln!("updated {}", docs.display());
    }
    drop(player);
}
