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

/// Earth's GM in the bundled ephemeris (the DE421 header constants).
const EARTH_GM: f64 = 398_600_436_233_339.8;

#[test]
fn ships_from_a_file_fly_their_kepler_orbits_and_come_back_in_order() {
    use glam::DVec3;
    let start = simulate(&["--days", "0"], &[]);
    let earth = start.body("Earth");
    let (center, center_velocity) = (
        DVec3::from_array(earth.position_m),
        DVec3::from_array(earth.velocity_m_s),
    );
    // Two circular equatorial (ICRF XY) orbits about Earth, 7000 and 8000 km.
    let radii = [7.0e6, 8.0e6];
    let ships: Vec<serde_json::Value> = radii
        .iter()
        .map(|&r| {
            serde_json::json!({
                "position_m": (center + DVec3::X * r).to_array(),
                "velocity_m_s": (center_velocity + DVec3::Y * (EARTH_GM / r).sqrt()).to_array(),
            })
        })
        .collect();
    let dir = galaxy_tests::server::TempDir::new("galaxy-ships-file");
    let file = dir.path().join("ships.json");
    std::fs::write(&file, serde_json::to_string(&ships).expect("json")).expect("temp file");
    // One period of the inner orbit; the outer one has gone round by its share.
    let period = std::f64::consts::TAU * (radii[0].powi(3) / EARTH_GM).sqrt();
    let days = (period / 86_400.0).to_string();
    let path = file.display().to_string();
    let report = simulate(
        &["--days", &days, "--point-masses", "--ships-file", &path],
        &[],
    );
    assert_eq!(report.ships, 2);
    assert_eq!(report.ship_states.len(), 2);
    let earth = DVec3::from_array(report.body("Earth").position_m);
    for (state, r) in report.ship_states.iter().zip(radii) {
        let angle = period * (EARTH_GM / r.powi(3)).sqrt();
        let kepler = DVec3::new(angle.cos(), angle.sin(), 0.0) * r;
        let error = (DVec3::from_array(state.position_m) - earth).distance(kepler);
        // The Moon's and the Sun's tides move a low orbit by tens of metres here.
        assert!(
            error < 1_000.0,
            "the {} km ship ends {error:.0} m from its Kepler orbit",
            r / 1e3
        );
    }
}

/// Writes `ships` as a ships file in a fresh temporary folder.
fn ships_file(ships: &serde_json::Value) -> (galaxy_tests::server::TempDir, String) {
    let dir = galaxy_tests::server::TempDir::new("galaxy-ships-file");
    let file = dir.path().join("ships.json");
    std::fs::write(&file, ships.to_string()).expect("temp file");
    let path = file.display().to_string();
    (dir, path)
}

#[test]
fn the_burn_executor_flies_a_hohmann_transfer_to_geostationary_radius() {
    use galaxy_shared::physics::orbit::OrbitalElements;
    use galaxy_shared::physics::rocket::exhaust_velocity;
    use glam::DVec3;
    let start = simulate(&["--days", "0"], &[]);
    let earth = start.body("Earth");
    let (center, center_velocity) = (
        DVec3::from_array(earth.position_m),
        DVec3::from_array(earth.velocity_m_s),
    );
    // 400 km above the mean radius, circular, in the ICRF XY plane (near Earth's
    // equator) to 42 164 km: vis-viva's two burns, half a transfer orbit apart.
    let mu = EARTH_GM;
    let (r1, r2) = (6_371_008.4 + 400_000.0, 42_164_000.0);
    let transfer = 0.5 * (r1 + r2);
    let dv1 = (mu / r1).sqrt() * ((r2 / transfer).sqrt() - 1.0);
    let dv2 = (mu / r2).sqrt() * (1.0 - (r1 / transfer).sqrt());
    let coast = std::f64::consts::PI * (transfer.powi(3) / mu).sqrt();
    let first = 1_000.0;
    let ships = serde_json::json!([{
        "position_m": (center + DVec3::X * r1).to_array(),
        "velocity_m_s": (center_velocity + DVec3::Y * (mu / r1).sqrt()).to_array(),
        "nodes": [
            {"at_s": first, "prograde_m_s": dv1},
            {"at_s": first + coast, "prograde_m_s": dv2},
        ],
    }]);
    let (_dir, path) = ships_file(&ships);
    let days = ((first + coast + 3_600.0) / 86_400.0).to_string();
    let report = simulate(
        &["--days", &days, "--point-masses", "--ships-file", &path],
        &[],
    );
    let ship = &report.ship_states[0];
    assert_eq!(ship.flight, "flying");
    assert_eq!(ship.burns.len(), 2, "both nodes flown: {:?}", ship.burns);
    let earth = report.body("Earth");
    let r = DVec3::from_array(ship.position_m) - DVec3::from_array(earth.position_m);
    let v = DVec3::from_array(ship.velocity_m_s) - DVec3::from_array(earth.velocity_m_s);
    let orbit = OrbitalElements::from_state(r, v, mu);
    assert!(
        (orbit.semi_major_axis - r2).abs() < 10_000.0,
        "semi-major axis {:.1} km, not 42 164 km",
        orbit.semi_major_axis / 1e3
    );
    assert!(orbit.eccentricity < 1e-3, "e = {}", orbit.eccentricity);
    eprintln!(
        "Hohmann: a = {:.3} km, e = {:.2e}, burns {:?}",
        orbit.semi_major_axis / 1e3,
        orbit.eccentricity,
        ship.burns
    );
    for (burn, plan) in ship.burns.iter().zip([dv1, dv2]) {
        let planned = DVec3::from_array(burn.planned_m_s);
        let achieved = DVec3::from_array(burn.achieved_m_s);
        assert!(
            (planned.length() - plan).abs() < 1e-6 * plan,
            "planned {planned} for {plan} m/s prograde"
        );
        let (size, angle) = (
            achieved.length() / planned.length() - 1.0,
            achieved.angle_between(planned).to_degrees(),
        );
        assert!(
            size.abs() < 5e-3 && angle < 0.5,
            "achieved {achieved} for {planned}: {:.3} % and {angle:.3}° off",
            size * 100.0
        );
        assert!(burn.left_m_s < 0.1, "{} m/s left", burn.left_m_s);
    }
    // The propellant the rocket equation asks for the two planned burns, from a
    // full 50 t ship with 40 t of it propellant.
    let ve = exhaust_velocity(350.0);
    let wanted = 50_000.0 * (1.0 - (-(dv1 + dv2) / ve).exp());
    let used = 40_000.0 - ship.fuel_kg;
    eprintln!("Hohmann: burnt {used:.1} kg, the rocket equation asks {wanted:.1} kg");
    assert!(
        used >= wanted && used < wanted * 1.005,
        "burnt {used:.0} kg for the {wanted:.0} kg the plan needs"
    );
}

#[test]
fn a_phasing_transfer_flown_by_the_executor_meets_the_target_ship() {
    use glam::DVec3;
    let start = simulate(&["--days", "0"], &[]);
    let earth = start.body("Earth");
    let (center, center_velocity) = (
        DVec3::from_array(earth.position_m),
        DVec3::from_array(earth.velocity_m_s),
    );
    // The target circles 400 km up; the chaser 10 km lower, in the same plane. A
    // Hohmann transfer up to the target's orbit, timed (Kepler) to arrive 300 m
    // behind it, then a circularisation: the two should fly together.
    let mu = EARTH_GM;
    let (low, high) = (6_371_008.4 + 390_000.0, 6_371_008.4 + 400_000.0);
    let transfer = 0.5 * (low + high);
    let dv1 = (mu / low).sqrt() * ((high / transfer).sqrt() - 1.0);
    let dv2 = (mu / high).sqrt() * (1.0 - (low / transfer).sqrt());
    let half = std::f64::consts::PI * (transfer.powi(3) / mu).sqrt();
    let (n_low, n_high) = ((mu / low.powi(3)).sqrt(), (mu / high.powi(3)).sqrt());
    let first = 600.0;
    let arrival = first + half;
    let behind = 300.0 / high;
    let target_phase = n_low * first + std::f64::consts::PI + behind - n_high * arrival;
    let circular = |radius: f64, phase: f64| {
        let (sin, cos) = phase.sin_cos();
        (
            (center + DVec3::new(cos, sin, 0.0) * radius).to_array(),
            (center_velocity + DVec3::new(-sin, cos, 0.0) * (mu / radius).sqrt()).to_array(),
        )
    };
    let (chaser_r, chaser_v) = circular(low, 0.0);
    let (target_r, target_v) = circular(high, target_phase);
    let ships = serde_json::json!([
        {
            "position_m": chaser_r,
            "velocity_m_s": chaser_v,
            "nodes": [
                {"at_s": first, "prograde_m_s": dv1},
                {"at_s": arrival, "prograde_m_s": dv2},
            ],
        },
        {"position_m": target_r, "velocity_m_s": target_v},
    ]);
    let (_dir, path) = ships_file(&ships);
    let days = ((arrival + 600.0) / 86_400.0).to_string();
    let report = simulate(
        &["--days", &days, "--point-masses", "--ships-file", &path],
        &[],
    );
    let (chaser, target) = (&report.ship_states[0], &report.ship_states[1]);
    assert_eq!(chaser.burns.len(), 2, "{:?}", chaser.burns);
    let distance = distance(chaser.position_m, target.position_m);
    let speed =
        DVec3::from_array(chaser.velocity_m_s).distance(DVec3::from_array(target.velocity_m_s));
    eprintln!("rendezvous: {distance:.0} m apart at {speed:.3} m/s");
    assert!(
        distance < 1_000.0 && speed < 1.0,
        "{distance:.0} m apart at {speed:.2} m/s, 10 minutes after arriving"
    );
}

#[test]
fn a_bad_ships_file_is_refused_with_its_name() {
    let dir = galaxy_tests::server::TempDir::new("galaxy-ships-file");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"[{"position_m":[1,2],"velocity_m_s":[0,0,0]}]"#).expect("temp file");
    for path in [file.clone(), dir.path().join("missing.json")] {
        let path = path.display().to_string();
        let output = run_server(
            &["simulate", "--days", "1", "--ships-file", &path, "--json"],
            &[],
        );
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(&path),
            "{output:?}"
        );
    }
}
