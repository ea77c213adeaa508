//! The binary as operators meet it: it runs from any directory on its compiled-in
//! defaults (every end-to-end test starts it outside the repository), shows the
//! effective configuration without secrets, and logs plain text or JSON lines.

use galaxy_tests::run_server;
use galaxy_tests::server::{ServerProcess, TempDir};

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn print_config_shows_the_layers_without_the_database_password() {
    let output = run_server(
        &["--print-config"],
        &[
            ("DATABASE_URL", "postgres://galaxy:hunter22@db:5432/galaxy"),
            ("GALAXY_TICK__RATE_HZ", "20"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(text.contains("config file: none"), "{text}");
    assert!(!text.contains("hunter22"), "the password is shown:\n{text}");
    let table: toml::Table = text.parse().expect("the output is TOML");
    assert_eq!(table["tick"]["rate_hz"].as_float(), Some(20.0));
    assert_eq!(
        table["persistence"]["database_url"].as_str(),
        Some("postgres://galaxy:***@db:5432/galaxy")
    );
    assert_eq!(table["physics"]["ephemeris"].as_str(), Some("bundled"));
}

#[test]
fn a_config_file_overrides_the_defaults_and_a_missing_one_is_an_error() {
    let dir = TempDir::new("galaxy-config");
    let file = dir.path().join("small.toml");
    std::fs::write(&file, "[net]\nstate_rate_hz = 10.0\n").expect("temp file");
    let path = file.display().to_string();
    let output = run_server(&["--print-config"], &[("GALAXY_CONFIG", path.as_str())]);
    assert!(output.status.success(), "{output:?}");
    let table: toml::Table = stdout(&output).parse().expect("TOML");
    assert_eq!(table["net"]["state_rate_hz"].as_float(), Some(10.0));
    assert_eq!(
        table["tick"]["rate_hz"].as_float(),
        Some(30.0),
        "the rest is default"
    );

    let missing = dir.path().join("missing.toml").display().to_string();
    let output = run_server(&["--print-config"], &[("GALAXY_CONFIG", missing.as_str())]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.toml"));
}

#[test]
fn logs_are_json_lines_when_asked_and_plain_without_colour_otherwise() {
    let json = ServerProcess::start(None, &[("GALAXY_LOG_FORMAT", "json")]);
    let log = json.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few log lines:\n{log}");
    for line in &lines {
        let record: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            record["level"].is_string() && record["message"].is_string(),
            "{line}"
        );
    }
    assert!(log.contains("configuration: compiled-in defaults"), "{log}");

    let plain = ServerProcess::start(None, &[]);
    let log = plain.log();
    assert!(log.contains("INFO"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file:\n{log}"
    );
}

#[test]
fn an_unknown_log_format_stops_start_up_with_a_reason() {
    let output = run_server(&["run"], &[("GALAXY_LOG_FORMAT", "xml")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GALAXY_LOG_FORMAT"));
}
