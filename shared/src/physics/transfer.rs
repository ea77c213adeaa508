//! The transfer planner: porkchop plots of the departure burn to a body or a ship
//! over departure date × time of flight, and the encounter a chosen transfer gives.
//!
//! Every cell is a Lambert arc ([`super::lambert`]) about the ship's dominant body
//! from where the ship's two-body orbit will be at departure to where the target
//! will be on arrival; the bodies' future positions come from the server's N-body
//! integrator. A body is then aimed at beside its centre, at the impact parameter
//! that gives the periapsis asked for, and that aim is refined against the full
//! force model ([`super::predict`]), so the periapsis the planner reports is the one
//! the predicted path (and the executor, which flies the node) will meet.

use glam::DVec3;

use super::integrator::{NBodyState, hermite};
use super::kepler::drift;
use super::lambert;
use super::manoeuvre::node_frame;
use super::predict::{Encounter, PredictionBodies, Predictor, encounters};

/// What a transfer goes to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TransferTarget {
    /// A body, by N-body slot.
    Body(usize),
    /// A ship at this barycentric position and velocity now.
    Ship {
        /// Barycentric position (m).
        position: DVec3,
        /// Barycentric velocity (m/s).
        velocity: DVec3,
    },
}

/// The grid a porkchop plot covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// First departure, seconds from now.
    pub depart_from: f64,
    /// Departures span this many seconds.
    pub depart_span: f64,
    /// Shortest time of flight (s).
    pub flight_from: f64,
    /// Longest time of flight (s).
    pub flight_to: f64,
    /// Departure columns.
    pub columns: usize,
    /// Time-of-flight rows.
    pub rows: usize,
}

/// Most cells a plot may ask for: the planner runs inside a client frame.
pub const MAX_CELLS: usize = 64 * 64;
/// Longest span (s) of departures and flight a plan may cover: two years, which
/// holds a Hohmann transfer between neighbouring planets with room to spare and
/// keeps a body's sampled track (one sample per body step) a few megabytes.
pub const MAX_SPAN: f64 = 2.0 * 365.25 * 86_400.0;

impl Grid {
    /// A grid suited to a ship at `r`, `v` about a body of `mu` going to a target
    /// `distance` from that body: departures over one orbit (from ten minutes
    /// ahead: time to turn and to start a burn centred on the node), flights from
    /// half to one and a half times the Hohmann time.
    pub fn around(r: DVec3, v: DVec3, mu: f64, distance: f64) -> Self {
        let n = r.length();
        let a = 1.0 / (2.0 / n - v.length_squared() / mu);
        let period = if a > 0.0 {
            std::f64::consts::TAU * (a.powi(3) / mu).sqrt()
        } else {
            86_400.0
        };
        let hohmann = std::f64::consts::PI * ((0.5 * (n + distance)).powi(3) / mu).sqrt();
        Self {
            depart_from: 600.0,
            depart_span: period.min(30.0 * 86_400.0),
            flight_from: 0.5 * hohmann,
            flight_to: 1.5 * hohmann,
            columns: 48,
            rows: 32,
        }
    }

    /// Departure time of column `i` (s from now).
    pub fn departure(&self, i: usize) -> f64 {
        self.depart_from + self.depart_span * i as f64 / (self.columns.max(2) - 1) as f64
    }

    /// Time of flight of row `j` (s).
    pub fn flight(&self, j: usize) -> f64 {
        self.flight_from
            + (self.flight_to - self.flight_from) * j as f64 / (self.rows.max(2) - 1) as f64
    }

    fn is_valid(&self) -> bool {
        let numbers = [
            self.depart_from,
            self.depart_span,
            self.flight_from,
            self.flight_to,
        ];
        numbers.iter().all(|x| x.is_finite() && *x >= 0.0)
            && self.flight_from > 0.0
            && self.flight_to >= self.flight_from
            && self.columns >= 2
            && self.rows >= 2
            && self.columns * self.rows <= MAX_CELLS
    }
}

/// One transfer: its departure burn and what it costs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transfer {
    /// Departure, game time (s).
    pub depart: f64,
    /// Time of flight (s).
    pub flight: f64,
    /// Departure burn as (prograde, normal, radial) in the ship's node frame there.
    pub burn: DVec3,
    /// Arrival burn that matches a target ship's velocity, in the node frame of the
    /// arriving ship; zero for a body.
    pub arrival_burn: DVec3,
    /// What the plot shows: the departure burn for a body, both burns for a ship (m/s).
    pub cost: f64,
}

/// A porkchop plot: one cost per cell, rows of time of flight.
#[derive(Clone, Debug, PartialEq)]
pub struct Porkchop {
    /// The grid it covers.
    pub grid: Grid,
    /// Game time it was made at.
    pub now: f64,
    /// `rows × columns` transfers, row-major; `None` where no arc exists.
    pub cells: Vec<Option<Transfer>>,
}

impl Porkchop {
    /// The cheapest transfer on the plot.
    pub fn best(&self) -> Option<Transfer> {
        self.cells
            .iter()
            .flatten()
            .min_by(|a, b| a.cost.total_cmp(&b.cost))
            .copied()
    }

    /// The cell at column `i`, row `j`.
    pub fn cell(&self, i: usize, j: usize) -> Option<Transfer> {
        if i >= self.grid.columns || j >= self.grid.rows {
            return None;
        }
        self.cells[j * self.grid.columns + i]
    }
}

/// A body's track relative to another over a span, sampled at the bodies' step and
/// interpolated between samples: what a target body does while the planner asks.
struct Track {
    step: f64,
    samples: Vec<(DVec3, DVec3)>,
}

impl Track {
    /// `target` relative to `center`, from now for `span` seconds.
    fn new(bodies: &PredictionBodies, center: usize, target: usize, span: f64) -> Option<Self> {
        let mut state: NBodyState = bodies.state.clone();
        let relative = |s: &NBodyState| {
            Some((
                *s.positions.get(target)? - *s.positions.get(center)?,
                *s.velocities.get(target)? - *s.velocities.get(center)?,
            ))
        };
        let step = bodies.body_step;
        if !(step > 0.0 && span.is_finite()) {
            return None;
        }
        let count = (span / step).ceil() as usize + 1;
        let mut samples = Vec::with_capacity(count + 1);
        samples.push(relative(&state)?);
        for _ in 0..count {
            state.step(bodies.scheme, step);
            samples.push(relative(&state)?);
        }
        Some(Self { step, samples })
    }

    /// Position and velocity `t` seconds from now.
    fn at(&self, t: f64) -> (DVec3, DVec3) {
        let last = self.samples.len() - 1;
        let k = ((t / self.step).floor().max(0.0) as usize).min(last.saturating_sub(1));
        let (p0, v0) = self.samples[k];
        let (p1, v1) = self.samples[(k + 1).min(last)];
        let s = ((t - k as f64 * self.step) / self.step).clamp(0.0, 1.0);
        hermite(p0, v0, p1, v1, self.step, s)
    }
}

/// Where a target is, relative to the centre body, `t` seconds from now.
enum Whereabouts {
    Body(Track),
    Ship { r: DVec3, v: DVec3, mu: f64 },
}

impl Whereabouts {
    fn at(&self, t: f64) -> (DVec3, DVec3) {
        match self {
            Self::Body(track) => track.at(t),
            Self::Ship { r, v, mu } => drift(*r, *v, *mu, t),
        }
    }
}

/// The ship and where the planner works: relative to the ship's dominant body.
#[derive(Clone, Debug)]
pub struct Planner {
    /// The bodies now.
    pub bodies: PredictionBodies,
    /// Game time now (s).
    pub now: f64,
    /// The body the transfer leaves (the ship's dominant body).
    pub center: usize,
    /// The ship relative to it now.
    pub r: DVec3,
    /// Its velocity relative to it.
    pub v: DVec3,
}

impl Planner {
    /// Gravitational parameter of the body the transfer leaves.
    pub fn mu(&self) -> f64 {
        self.bodies
            .state
            .gms
            .get(self.center)
            .copied()
            .unwrap_or(0.0)
    }

    /// The grid [`Grid::around`] suits for a transfer to `target` from here.
    pub fn grid(&self, target: TransferTarget) -> Grid {
        let state = &self.bodies.state;
        let center = state
            .positions
            .get(self.center)
            .copied()
            .unwrap_or_default();
        let distance = match target {
            TransferTarget::Body(b) => state.positions.get(b).map_or(0.0, |p| p.distance(center)),
            TransferTarget::Ship { position, .. } => position.distance(center),
        };
        Grid::around(self.r, self.v, self.mu(), distance)
    }

    /// Where `target` goes over the next `span` seconds; `None` for the ship's own
    /// body, a body outside its sphere of influence (a Lambert arc about this body
    /// cannot reach it) or a span over [`MAX_SPAN`].
    fn whereabouts(&self, target: TransferTarget, span: f64) -> Option<Whereabouts> {
        let state = &self.bodies.state;
        let (center_p, center_v) = (
            *state.positions.get(self.center)?,
            *state.velocities.get(self.center)?,
        );
        if span.is_nan() || span > MAX_SPAN {
            return None;
        }
        let reach = *self.bodies.soi.get(self.center)?;
        Some(match target {
            TransferTarget::Body(b)
                if b != self.center && state.positions.get(b)?.distance(center_p) < reach =>
            {
                Whereabouts::Body(Track::new(&self.bodies, self.center, b, span)?)
            }
            TransferTarget::Body(_) => return None,
            TransferTarget::Ship { position, velocity } => Whereabouts::Ship {
                r: position - center_p,
                v: velocity - center_v,
                mu: self.mu(),
            },
        })
    }

    /// The transfer leaving `depart` seconds from now and arriving `flight` seconds
    /// later at `aim` (relative to where the target is then, beside a body's centre).
    fn transfer(
        &self,
        depart: f64,
        flight: f64,
        target: &Whereabouts,
        aim: DVec3,
    ) -> Option<Transfer> {
        let mu = self.mu();
        let (r1, v_ship) = drift(self.r, self.v, mu, depart);
        let (r2, v_target) = target.at(depart + flight);
        let arc = lambert::solve(r1, r2 + aim, flight, mu, self.r.cross(self.v))?;
        let dv = arc.departure - v_ship;
        let [prograde, normal, radial] = node_frame(r1, v_ship)?;
        let burn = DVec3::new(dv.dot(prograde), dv.dot(normal), dv.dot(radial));
        let (arrival_burn, cost) = match target {
            Whereabouts::Body(_) => (DVec3::ZERO, dv.length()),
            Whereabouts::Ship { .. } => {
                let match_dv = v_target - arc.arrival;
                let [p, n, q] = node_frame(r2, arc.arrival)?;
                (
                    DVec3::new(match_dv.dot(p), match_dv.dot(n), match_dv.dot(q)),
                    dv.length() + match_dv.length(),
                )
            }
        };
        cost.is_finite().then_some(Transfer {
            depart: self.now + depart,
            flight,
            burn,
            arrival_burn,
            cost,
        })
    }

    /// The porkchop plot of transfers to `target` over `grid`; `None` for a grid
    /// out of bounds or a target that is the ship's own body.
    pub fn porkchop(&self, target: TransferTarget, grid: Grid) -> Option<Porkchop> {
        if !grid.is_valid() {
            return None;
        }
        let span = grid.depart_from + grid.depart_span + grid.flight_to;
        let whereabouts = self.whereabouts(target, span)?;
        let mut cells = Vec::with_capacity(grid.rows * grid.columns);
        for j in 0..grid.rows {
            for i in 0..grid.columns {
                cells.push(self.transfer(
                    grid.departure(i),
                    grid.flight(j),
                    &whereabouts,
                    DVec3::ZERO,
                ));
            }
        }
        Some(Porkchop {
            grid,
            now: self.now,
            cells,
        })
    }

    /// The transfer departing at game time `depart` that passes `body` at a
    /// periapsis `periapsis` m from its centre after about `flight` seconds, with
    /// the pass the full force model predicts for it.
    pub fn encounter(
        &self,
        body: usize,
        depart: f64,
        flight: f64,
        periapsis: f64,
    ) -> Option<(Transfer, Encounter)> {
        let depart = depart - self.now;
        let target = self.whereabouts(TransferTarget::Body(body), depart + 2.0 * flight)?;
        let mu_body = *self.bodies.state.gms.get(body)?;
        let mu = self.mu();
        // The arrival's hyperbolic excess velocity, from an arc to the centre.
        let (r1, _) = drift(self.r, self.v, mu, depart);
        let (r2, v2) = target.at(depart + flight);
        let arc = lambert::solve(r1, r2, flight, mu, self.r.cross(self.v))?;
        let v_inf = arc.arrival - v2;
        // Aim beside the centre, in the transfer's plane, on the far side from the
        // centre body, at the impact parameter of a two-body hyperbola.
        let side = (r2 - r2.dot(v_inf) / v_inf.length_squared() * v_inf).try_normalize()?;
        let impact = |rp: f64| rp * (1.0 + 2.0 * mu_body / (rp * v_inf.length_squared())).sqrt();
        let fly = |b: f64| -> Option<(Transfer, Encounter)> {
            let transfer = self.transfer(depart, flight, &target, side * b)?;
            let pass = self.predict_pass(&transfer, body)?;
            Some((transfer, pass))
        };
        // Secant steps on the impact parameter against the predicted periapsis.
        let mut b0 = impact(periapsis);
        let mut best = fly(b0)?;
        let mut b1 = b0 * 1.05;
        let mut f0 = best.1.periapsis - periapsis;
        for _ in 0..8 {
            let Some(next) = fly(b1) else { break };
            let f1 = next.1.periapsis - periapsis;
            if f1.abs() < (best.1.periapsis - periapsis).abs() {
                best = next;
            }
            if f1.abs() < 1.0 || f1 == f0 {
                break;
            }
            let b2 = b1 - f1 * (b1 - b0) / (f1 - f0);
            (b0, f0, b1) = (b1, f1, b2.max(0.0));
        }
        Some(best)
    }

    /// The pass by `body` of the path through `transfer`'s node, under the full
    /// force model.
    fn predict_pass(&self, transfer: &Transfer, body: usize) -> Option<Encounter> {
        let state = &self.bodies.state;
        let center_p = *state.positions.get(self.center)?;
        let center_v = *state.velocities.get(self.center)?;
        let mut predictor = Predictor::new(
            self.bodies.clone(),
            self.now,
            transfer.depart - self.now + 2.0 * transfer.flight,
            center_p + self.r,
            center_v + self.v,
            vec![(transfer.depart, transfer.burn)],
        );
        while !predictor.advance(256) {}
        encounters(&predictor.path, &state.gms)
            .into_iter()
            .find(|e| e.body == body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::orbit::circular_speed;
    use crate::physics::predict::tests::earth_alone;

    const MU: f64 = 3.986_004_418e14;

    /// Two coplanar circular orbits: the cheapest transfer on the plot is the
    /// Hohmann transfer, both burns as vis-viva gives them.
    #[test]
    fn the_cheapest_transfer_between_circular_orbits_is_hohmanns() {
        let (r1, r2) = (6.771e6, 4.2164e7);
        let ship_v = circular_speed(r1, MU);
        let planner = Planner {
            bodies: earth_alone(),
            now: 0.0,
            center: 0,
            r: DVec3::X * r1,
            v: DVec3::Y * ship_v,
        };
        // The target leads by the Hohmann phase angle, so leaving now is best.
        let hohmann = std::f64::consts::PI * ((0.5 * (r1 + r2)).powi(3) / MU).sqrt();
        let target_rate = (MU / r2.powi(3)).sqrt();
        let lead = std::f64::consts::PI - target_rate * hohmann;
        let target = TransferTarget::Ship {
            position: DVec3::new(lead.cos(), lead.sin(), 0.0) * r2,
            velocity: DVec3::new(-lead.sin(), lead.cos(), 0.0) * circular_speed(r2, MU),
        };
        let grid = Grid {
            depart_from: 0.0,
            depart_span: 1_200.0,
            flight_from: 0.9 * hohmann,
            flight_to: 1.1 * hohmann,
            columns: 25,
            rows: 41,
        };
        let plot = planner.porkchop(target, grid).expect("a plot");
        let best = plot.best().expect("a transfer");
        let a = 0.5 * (r1 + r2);
        let dv1 = (MU * (2.0 / r1 - 1.0 / a)).sqrt() - ship_v;
        let dv2 = circular_speed(r2, MU) - (MU * (2.0 / r2 - 1.0 / a)).sqrt();
        // Half a degree short of 180° costs little: within 1 % of the ideal.
        assert!(
            (best.cost - (dv1 + dv2)).abs() < 0.01 * (dv1 + dv2),
            "{best:?}"
        );
        assert!((best.burn.x - dv1).abs() < 0.01 * dv1, "{best:?}");
        assert!((best.flight - hohmann).abs() < 0.02 * hohmann);
        assert!(best.depart < 60.0, "{best:?}");
    }

    #[test]
    fn grids_out_of_bounds_and_the_own_body_have_no_plot() {
        let planner = Planner {
            bodies: earth_alone(),
            now: 0.0,
            center: 0,
            r: DVec3::X * 7.0e6,
            v: DVec3::Y * 7.5e3,
        };
        let grid = Grid::around(planner.r, planner.v, MU, 4.2e7);
        assert_eq!(planner.porkchop(TransferTarget::Body(0), grid), None);
        let huge = Grid {
            columns: 1_000,
            rows: 1_000,
            ..grid
        };
        let ship = TransferTarget::Ship {
            position: DVec3::Y * 4.2e7,
            velocity: DVec3::X * 3.0e3,
        };
        assert_eq!(planner.porkchop(ship, huge), None);
        let backwards = Grid {
            flight_to: 1.0,
            ..grid
        };
        assert_eq!(planner.porkchop(ship, backwards), None);
        assert!(planner.porkchop(ship, grid).is_some());
        let endless = Grid {
            flight_to: 3.0 * 365.25 * 86_400.0,
            ..grid
        };
        assert_eq!(planner.porkchop(ship, endless), None, "over two years");
        // From Earth's sphere of influence the Sun lies out of a Lambert arc's reach.
        let mut with_sun = planner.bodies.clone();
        with_sun.state = NBodyState::new(
            vec![DVec3::ZERO, DVec3::X * 1.496e11],
            vec![DVec3::ZERO, DVec3::Y * 29_780.0],
            vec![1.327e20, MU],
            None,
        );
        with_sun.soi = vec![f64::INFINITY, 9.25e8];
        with_sun.poles = vec![DVec3::Z; 2];
        with_sun.j2_r2 = vec![0.0; 2];
        let from_earth = Planner {
            bodies: with_sun,
            center: 1,
            ..planner.clone()
        };
        assert_eq!(from_earth.porkchop(TransferTarget::Body(0), grid), None);
    }
}
