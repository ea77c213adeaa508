//! The real `galaxy-server simulate` against JPL DE421.

use galaxy_tests::{Truth, distance, run_server, simulate};

const PLANETS: [&str; 9] = [
    "Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune", "Pluto",
];

fn position_error_km(
    report: &galaxy_tests::SimulateReport,
    truth: &Truth,
    days: f64,
    name: &str,
) -> f64 {
    distance(
        report.body(name).position_m,
        truth.at(days, name).position_m,
    ) / 1_000.0
}

fn earth_moon_distance(earth: [f64; 3], moon: [f64; 3]) -> f64 {
    distance(earth, moon)
}

#[test]
fn one_year_matches_de421_within_a_kilometre() {
    let truth = Truth::load();
    let report = simulate(&["--days", "365.25"], &[]);
    assert!((report.game_time_s - 365.25 * 86_400.0).abs() < 1e-6);
    for name in PLANETS {
        let error = position_error_km(&report, &truth, 365.25, name);
        assert!(
            error < 1.0,
            "{name} is {error:.3} km from DE421 after a year"
        );
    }
    // The Moon lacks Earth's oblateness and tides: tens of km a year.
    let moon = position_error_km(&report, &truth, 365.25, "Moon");
    assert!(moon < 40.0, "Moon is {moon:.1} km from DE421 after a year");
    let sim = earth_moon_distance(
        report.body("Earth").position_m,
        report.body("Moon").position_m,
    );
    let de421 = earth_moon_distance(
        truth.at(365.25, "Earth").position_m,
        truth.at(365.25, "Moon").position_m,
    );
    assert!(
        (sim - de421).abs() < 5_000.0,
        "Earth–Moon distance off by {:.0} m",
        sim - de421
    );
    assert!(
        report.energy_rel_drift.abs() < 1e-8,
        "energy drift {}",
        report.energy_rel_drift
    );
}

#[test]
fn ten_years_stay_within_a_few_kilometres() {
    let truth = Truth::load();
    let report = simulate(&["--days", "3652.5"], &[]);
    for name in PLANETS {
        let error = position_error_km(&report, &truth, 3652.5, name);
        assert!(
            error < 10.0,
            "{name} is {error:.2} km from DE421 after ten years"
        );
    }
    let moon = position_error_km(&report, &truth, 3652.5, "Moon");
    assert!(
        moon < 300.0,
        "Moon is {moon:.0} km from DE421 after ten years"
    );
    assert!(report.energy_rel_drift.abs() < 1e-8);
}

#[test]
fn relativity_is_what_closes_the_gap() {
    let truth = Truth::load();
    let newtonian = simulate(
        &["--days", "365.25"],
        &[("GALAXY_PHYSICS__RELATIVITY", "false")],
    );
    let mercury = position_error_km(&newtonian, &truth, 365.25, "Mercury");
    assert!(
        mercury > 20.0,
        "without 1PN Mercury should drift tens of km, got {mercury:.1}"
    );
}

#[test]
fn start_epoch_is_reached_by_propagation() {
    let truth = Truth::load();
    for days in [1826.25, -3652.5] {
        let report = simulate(&["--days", "0", "--start-epoch", &days.to_string()], &[]);
        assert!((report.game_time_s - days * 86_400.0).abs() < 1e-3);
        let earth = position_error_km(&report, &truth, days, "Earth");
        assert!(
            earth < 10.0,
            "Earth at {days} d is {earth:.2} km from DE421"
        );
    }
}

#[test]
fn ships_in_low_orbit_keep_flying_for_a_day() {
    let report = simulate(&["--days", "1", "--ships", "50", "--dt", "1"], &[]);
    assert_eq!(report.ships, 50);
    assert_eq!(
        report.ships_flying, 50,
        "no ship in a 400 km orbit may crash within a day"
    );
    assert!(
        report.steps >= 86_400,
        "1 s substeps over a day: {} steps",
        report.steps
    );
    assert!(report.wall_s > 0.0);
}

#[test]
fn bad_config_stops_start_up_naming_the_key() {
    for (var, value, key) in [
        ("GALAXY_TICK__RATE_HZ", "-1", "tick.rate_hz"),
        (
            "GALAXY_PHYSICS__BODY_INTEGRATOR",
            "euler",
            "body_integrator",
        ),
        ("GALAXY_HTTP_ADDR", "not-an-address", "http_addr"),
    ] {
        let output = run_server(&["simulate", "--days", "1", "--json"], &[(var, value)]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{var}={value} must stop start-up"
        );
        assert!(
            stderr.contains(key),
            "{var}={value}: error `{stderr}` does not name {key}"
        );
        assert!(output.stdout.is_empty());
    }
    let output = run_server(
        &["simulate", "--days", "1", "--json"],
        &[("GALAXY_CONFIG", "/nonexistent/galaxy.toml")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/galaxy.toml"));
}

#[test]
fn bad_simulate_arguments_are_refused() {
    for args in [["--days", "-5"], ["--days", "NaN"]] {
        let output = run_server(&["simulate", args[0], args[1], "--json"], &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = run_server(&["simulate", "--days", "1", "--dt", "0", "--json"], &[]);
    assert_eq!(output.status.code(), Some(2));
}
