//! The rocket equation, and the mass flow of engines.

use glam::DVec3;

use crate::units::STANDARD_GRAVITY;

/// Exhaust velocity (m/s) of an engine with specific impulse `isp` (s).
pub fn exhaust_velocity(isp: f64) -> f64 {
    isp * STANDARD_GRAVITY
}

/// Tsiolkovsky: delta-v (m/s) from burning mass `m0` down to `m1` at exhaust velocity `ve`.
pub fn delta_v(ve: f64, m0: f64, m1: f64) -> f64 {
    ve * (m0 / m1).ln()
}

/// Propellant mass flow (kg/s) of thrust `force` (N) at exhaust velocity `ve`.
pub fn mass_flow(force: f64, ve: f64) -> f64 {
    force / ve
}

/// Propellant (kg) burned by `force` over `dt` s, limited by what is in the tank, and
/// the time (s) the engine actually ran.
pub fn burn(force: f64, ve: f64, fuel: f64, dt: f64) -> (f64, f64) {
    if force <= 0.0 || fuel <= 0.0 {
        return (0.0, 0.0);
    }
    let flow = mass_flow(force, ve);
    let wanted = flow * dt;
    if wanted <= fuel {
        (wanted, dt)
    } else {
        (fuel, fuel / flow)
    }
}

/// One substep of a main engine of thrust `force` (N) pointing along `nose`, on a
/// ship of `dry_mass` (kg): the propellant burned leaves `fuel`, and the returned
/// delta-v (m/s) is the rocket equation's for it.
#[inline]
pub fn engine_step(
    fuel: &mut f64,
    force: f64,
    ve: f64,
    dry_mass: f64,
    nose: DVec3,
    dt: f64,
) -> DVec3 {
    let (used, _) = burn(force, ve, *fuel, dt);
    if used <= 0.0 {
        return DVec3::ZERO;
    }
    let m0 = dry_mass + *fuel;
    *fuel -= used;
    nose * delta_v(ve, m0, m0 - used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_stops_when_the_tank_is_empty() {
        let ve = exhaust_velocity(350.0);
        let (used, ran) = burn(500_000.0, ve, 100.0, 10.0);
        assert_eq!(used, 100.0);
        assert!((ran - 100.0 / (500_000.0 / ve)).abs() < 1e-12);
        assert_eq!(burn(500_000.0, ve, 0.0, 10.0), (0.0, 0.0));
    }

    #[test]
    fn full_tank_delta_v_of_the_default_ship() {
        // 10 t dry + 40 t fuel at Isp 350 s: ve·ln(5) ≈ 5 524 m/s.
        let dv = delta_v(exhaust_velocity(350.0), 50_000.0, 10_000.0);
        assert!((dv - 5_524.0).abs() < 1.0, "{dv}");
    }

    #[test]
    fn an_engine_step_burns_the_tank_down_to_the_rocket_equation() {
        let (ve, dry, nose) = (exhaust_velocity(320.0), 2_000.0, DVec3::new(0.0, 0.6, 0.8));
        let mut fuel = 1_000.0;
        let mut dv = DVec3::ZERO;
        // 100 kN for 20 substeps of 2 s (about 64 kg each): the last find the tank empty.
        for _ in 0..20 {
            dv += engine_step(&mut fuel, 100_000.0, ve, dry, nose, 2.0);
        }
        assert_eq!(fuel, 0.0);
        let expected = delta_v(ve, dry + 1_000.0, dry);
        assert!(
            (dv.length() - expected).abs() < 1e-9 * expected,
            "{dv} against {expected}"
        );
        assert!((dv.normalize() - nose).length() < 1e-12);
        assert_eq!(
            engine_step(&mut fuel, 100_000.0, ve, dry, nose, 2.0),
            DVec3::ZERO
        );
    }
}
