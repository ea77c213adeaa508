//! The tests' independent integrator: classic fourth-order Runge–Kutta at small
//! fixed steps, nothing shared with the schemes under test.

use glam::DVec3;

/// State after `t` seconds in `steps` RK4 steps under `accel(r, v)`.
pub fn rk4(
    mut r: DVec3,
    mut v: DVec3,
    accel: impl Fn(DVec3, DVec3) -> DVec3,
    t: f64,
    steps: usize,
) -> (DVec3, DVec3) {
    let h = t / steps as f64;
    for _ in 0..steps {
        let (k1r, k1v) = (v, accel(r, v));
        let (k2r, k2v) = (
            v + k1v * (h / 2.0),
            accel(r + k1r * (h / 2.0), v + k1v * (h / 2.0)),
        );
        let (k3r, k3v) = (
            v + k2v * (h / 2.0),
            accel(r + k2r * (h / 2.0), v + k2v * (h / 2.0)),
        );
        let (k4r, k4v) = (v + k3v * h, accel(r + k3r * h, v + k3v * h));
        r += (k1r + k2r * 2.0 + k3r * 2.0 + k4r) * (h / 6.0);
        v += (k1v + k2v * 2.0 + k3v * 2.0 + k4v) * (h / 6.0);
    }
    (r, v)
}
