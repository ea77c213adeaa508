//! End-to-end: the real server and the real client under Xvfb with software
//! Vulkan (lavapipe). The client logs in with scripted flags, waits for live data,
//! saves a screenshot and a JSON sidecar of its HUD, and exits; the test checks
//! the picture is not blank, the HUD says connected, Earth is on screen and the
//! surface maps loaded from `assets/`. A wrong password and an unreachable server
//! end a scripted run with the error in words.
//!
//! `GALAXY_UPDATE_SCREENSHOT=1` copies the picture to `docs/client.png`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use galaxy_tests::picture::Picture;
use galaxy_tests::server::{ServerProcess, TempDir};

/// A clean first run compiles every pipeline on the CPU.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(240);

fn require_tools() {
    let xvfb = Command::new("sh")
        .args(["-c", "command -v xvfb-run && command -v xauth"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        xvfb,
        "xvfb-run or xauth is missing: apt-get install -y xvfb xauth mesa-vulkan-drivers libvulkan1"
    );
    let icd_dirs = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];
    let lavapipe = icd_dirs.iter().any(|dir| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
        })
    });
    assert!(
        lavapipe,
        "the lavapipe Vulkan driver is missing: apt-get install -y mesa-vulkan-drivers libvulkan1"
    );
}

/// Runs the client under Xvfb with scripted credentials and an unattended capture
/// to `screenshot`; returns its exit status and its log.
fn run_client(
    server: &str,
    credentials: [&str; 2],
    screenshot: &Path,
) -> (std::process::ExitStatus, String) {
    let log_path = screenshot.with_extension("log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 1280x800x24"])
        .arg(env!("CARGO_BIN_EXE_galaxy-client"))
        .args(["--server", server])
        .args(["--user", credentials[0], "--password", credentials[1]])
        .arg("--register")
        .arg("--screenshot-after-live")
        .arg(screenshot)
        .env("RUST_LOG", "info,wgpu=error,naga=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log);
    for (name, _) in std::env::vars() {
        if name.starts_with("GALAXY_") {
            command.env_remove(name);
        }
    }
    let mut client = command.spawn().expect("xvfb-run starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = client.try_wait().expect("the client can be waited on") {
            break status;
        }
        if started.elapsed() > CLIENT_TIMEOUT {
            let _ = client.kill();
            let _ = client.wait();
            panic!(
                "the client did not finish within {CLIENT_TIMEOUT:?}:\n{}",
                tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (status, tail(&log_path))
}

#[test]
fn the_client_flies_live_and_its_screenshot_shows_earth_and_a_connected_hud() {
    require_tools();
    let server = ServerProcess::start(None, &[]);
    let dir = TempDir::new("galaxy-client");
    let screenshot = dir.path().join("client.png");
    let (status, log) = run_client(
        &server.http_url(),
        ["pilot", "correct horse battery"],
        &screenshot,
    );
    assert!(status.success(), "the client failed ({status}):\n{log}");

    let picture = Picture::open(&screenshot).expect("the client saved a PNG");
    picture.assert_not_blank();

    let sidecar_path = screenshot.with_extension("json");
    let sidecar: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&sidecar_path).expect("the client wrote its HUD sidecar"),
    )
    .expect("the sidecar is JSON");
    assert_eq!(sidecar["connected"], true, "{sidecar:#}");
    let connection = sidecar["connection"].as_str().unwrap_or_default();
    assert!(
        connection.starts_with("connected"),
        "HUD connection line: {connection}"
    );
    let hud = sidecar["hud"].as_str().unwrap_or_default();
    for expected in ["Earth", "Altitude", "Fuel", "Periapsis", "Hold"] {
        assert!(hud.contains(expected), "HUD lacks {expected:?}:\n{hud}");
    }
    // The surface maps were found under assets/ and decoded before the capture.
    let textures = sidecar["textures"].as_u64().unwrap_or(0);
    assert!(textures >= 9, "the globes asked for {textures} textures");
    assert_eq!(
        sidecar["textures_loaded"].as_u64(),
        Some(textures),
        "not every surface map loaded: {sidecar:#}"
    );
    let coverage = sidecar["earth_coverage"].as_f64().unwrap_or(0.0);
    assert!(
        coverage > 0.02,
        "Earth covers {coverage} of the screen: {sidecar:#}"
    );
    let (width, height) = (
        sidecar["viewport"][0].as_f64().unwrap_or(0.0),
        sidecar["viewport"][1].as_f64().unwrap_or(0.0),
    );
    let (x, y) = (
        sidecar["earth_visible_at"][0].as_f64().unwrap_or(-1.0),
        sidecar["earth_visible_at"][1].as_f64().unwrap_or(-1.0),
    );
    assert!(
        (0.0..width).contains(&x) && (0.0..height).contains(&y),
        "Earth is drawn at ({x}, {y}), outside the {width}×{height} viewport"
    );

    if std::env::var("GALAXY_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/client.png");
        std::fs::copy(&screenshot, &docs).expect("docs/ is writable");
        eprintln!("updated {}", docs.display());
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

#[test]
fn a_wrong_password_and_an_unreachable_server_are_reported_in_words() {
    require_tools();
    let server = ServerProcess::start(None, &[]);
    assert_eq!(server.register("ada", "the right password"), 201);
    let dir = TempDir::new("galaxy-client-login");

    let (status, log) = run_client(
        &server.http_url(),
        ["ada", "a wrong password"],
        &dir.path().join("wrong.png"),
    );
    assert!(
        !status.success(),
        "a failed scripted login ends the run:\n{log}"
    );
    assert!(
        log.contains("login failed: wrong username or password"),
        "{log}"
    );

    let closed = format!("http://127.0.0.1:{}", galaxy_tests::server::free_tcp_port());
    let (status, log) = run_client(
        &closed,
        ["ada", "the right password"],
        &dir.path().join("gone.png"),
    );
    assert!(!status.success(), "{log}");
    assert!(
        log.contains(&format!("login failed: cannot reach {closed}")),
        "{log}"
    );
}
