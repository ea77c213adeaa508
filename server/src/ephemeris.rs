//! The bundled J2000 ephemeris: loading, validation, and the body entities.
//!
//! The N-body state is canonical in the [`Bodies`] resource, because the integrator
//! needs all bodies at once; the body entities mirror it after every tick for
//! queries, networking and persistence.

use std::path::Path;

use bevy::prelude::*;
use galaxy_shared::components::{Body, Gm, Position, Radius, Velocity};
use galaxy_shared::physics::gravity::sphere_of_influence;
use galaxy_shared::physics::integrator::{BodyIntegrator, NBodyState};
use galaxy_shared::physics::oblateness::Oblateness;
use galaxy_shared::physics::predict::PredictionBodies;
use galaxy_shared::physics::rotation::RotationModel;
use glam::DVec3;
use serde::Deserialize;

use crate::config::Config;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Startup, spawn_body_entities);
}

/// The ephemeris file as stored.
#[derive(Clone, Debug, Deserialize)]
pub struct EphemerisFile {
    /// Where the numbers come from.
    pub source: String,
    /// Julian date (TDB) of the states.
    pub epoch_jd_tdb: f64,
    /// The bodies, parents before children.
    pub bodies: Vec<BodyRecord>,
}

/// One body of the ephemeris file.
#[derive(Clone, Debug, Deserialize)]
pub struct BodyRecord {
    /// Display name, unique.
    pub name: String,
    /// Name of the body it orbits; `None` for the Sun.
    pub parent: Option<String>,
    /// Gravitational parameter (m³/s²).
    pub gm_m3_s2: f64,
    /// Mean radius (m).
    pub radius_m: f64,
    /// Its surface lies in vacuum (no atmosphere to speak of): the landing
    /// autopilot flies only to such surfaces. Absent means not.
    #[serde(default)]
    pub airless: bool,
    /// How it turns (IAU WGCCRE elements).
    pub rotation: RotationModel,
    /// Its J2, where known.
    pub oblateness: Option<Oblateness>,
    /// Render colour, sRGB 0..1.
    pub color: [f32; 3],
    /// Barycentric ICRF position (m).
    pub position_m: [f64; 3],
    /// Barycentric ICRF velocity (m/s).
    pub velocity_m_s: [f64; 3],
}

/// Why the ephemeris is unusable.
#[derive(Debug, thiserror::Error)]
pub enum EphemerisError {
    /// The file could not be read.
    #[error("cannot read ephemeris {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the right shape.
    #[error("invalid ephemeris {path}: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The parser error.
        source: serde_json::Error,
    },
    /// A body's data is out of range or inconsistent.
    #[error("invalid ephemeris body `{body}`: {reason}")]
    Body {
        /// The body.
        body: String,
        /// What is wrong.
        reason: String,
    },
}

/// Static facts about the bodies, indexed like the N-body state.
#[derive(Clone, Debug, Default)]
pub struct BodyCatalog {
    /// Names.
    pub names: Vec<String>,
    /// Mean radii (m).
    pub radii: Vec<f64>,
    /// Index of each body's parent; `None` for the root (the Sun).
    pub parents: Vec<Option<usize>>,
    /// Render colours.
    pub colors: Vec<[f32; 3]>,
    /// Rotation models.
    pub rotations: Vec<RotationModel>,
    /// J2 of each body, where known.
    pub oblateness: Vec<Option<Oblateness>>,
    /// Whether each body's surface lies in vacuum.
    pub airless: Vec<bool>,
}

impl BodyCatalog {
    /// Index of the body called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.eq_ignore_ascii_case(name))
    }
}

/// The massive bodies: their catalogue, their integrated state and their spheres of
/// influence, which follow the bodies as they move.
#[derive(Resource, Clone, Debug)]
pub struct Bodies {
    /// Names, radii, parents, colours.
    pub catalog: BodyCatalog,
    /// Positions, velocities and GMs, advanced by the integrator.
    pub state: NBodyState,
    /// Sphere-of-influence radius of each body (m); infinite for the root.
    pub soi: Vec<f64>,
    /// Which scheme advances them.
    pub integrator: BodyIntegrator,
    /// Ships feel the bodies' J2 (`physics.oblateness`); off, every body is a point
    /// mass to them.
    pub oblate: bool,
}

/// Most bodies an ephemeris may hold: ids are bytes on the wire, and the coasting
/// kicks keep one position per body on the stack.
pub const MAX_BODIES: usize = 32;

/// The J2000 ephemeris compiled into the binary, so the server starts in any
/// directory (`config/ephemeris-j2000.json`, made by `tools/gen_ephemeris.py`).
pub const BUNDLED: &str = include_str!("../../config/ephemeris-j2000.json");

/// The `physics.ephemeris` value that names [`BUNDLED`].
pub const BUNDLED_NAME: &str = "bundled";

impl Bodies {
    /// The bodies at game time `now` as a client learns them (states, spheres of
    /// influence, poles, the J2 ships feel), in the form the predictor and the
    /// transfer planner take, stepped as this server steps them: for tests,
    /// benchmarks and tools that check the client's planning against the server.
    pub fn prediction(&self, now: f64, body_step: f64, steps_per_orbit: f64) -> PredictionBodies {
        PredictionBodies {
            state: self.state.clone(),
            soi: self.soi.clone(),
            poles: self.catalog.rotations.iter().map(|m| m.pole(now)).collect(),
            j2_r2: self
                .catalog
                .oblateness
                .iter()
                .map(|o| o.filter(|_| self.oblate).map_or(0.0, |o| o.j2_r2()))
                .collect(),
            scheme: self.integrator,
            body_step,
            steps_per_orbit,
        }
    }

    /// Reads and validates the ephemeris at `path` ([`BUNDLED_NAME`]: the bundled one).
    pub fn load(
        path: &Path,
        relativity: bool,
        integrator: BodyIntegrator,
    ) -> Result<Self, EphemerisError> {
        let (text, display) = if path == Path::new(BUNDLED_NAME) {
            (BUNDLED.to_owned(), "the bundled ephemeris".to_owned())
        } else {
            let display = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| EphemerisError::Read {
                path: display.clone(),
                source,
            })?;
            (text, display)
        };
        let file: EphemerisFile =
            serde_json::from_str(&text).map_err(|source| EphemerisError::Parse {
                path: display,
                source,
            })?;
        Self::from_file(&file, relativity, integrator)
    }

    /// Builds the bodies from a parsed file, checking every number.
    pub fn from_file(
        file: &EphemerisFile,
        relativity: bool,
        integrator: BodyIntegrator,
    ) -> Result<Self, EphemerisError> {
        let mut catalog = BodyCatalog::default();
        let (mut positions, mut velocities, mut gms) = (Vec::new(), Vec::new(), Vec::new());
        for record in &file.bodies {
            let fail = |reason: &str| EphemerisError::Body {
                body: record.name.clone(),
                reason: reason.to_owned(),
            };
            if catalog.index_of(&record.name).is_some() {
                return Err(fail("duplicate name"));
            }
            let numbers_finite = record
                .position_m
                .iter()
                .chain(&record.velocity_m_s)
                .all(|x| x.is_finite());
            if !(numbers_finite && record.gm_m3_s2.is_finite() && record.gm_m3_s2 > 0.0) {
                return Err(fail(
                    "GM, position and velocity must be finite, GM positive",
                ));
            }
            if !(record.radius_m.is_finite() && record.radius_m > 0.0) {
                return Err(fail("radius must be positive"));
            }
            if !record.rotation.is_finite() {
                return Err(fail("rotation elements must be finite"));
            }
            if record.oblateness.is_some_and(|o| !o.is_valid()) {
                return Err(fail(
                    "J2 must be finite and not negative, its radius positive",
                ));
            }
            let parent = match &record.parent {
                None => None,
                Some(name) => Some(
                    catalog
                        .index_of(name)
                        .ok_or_else(|| fail("parent must be listed before its children"))?,
                ),
            };
            catalog.names.push(record.name.clone());
            catalog.radii.push(record.radius_m);
            catalog.parents.push(parent);
            catalog.colors.push(record.color);
            catalog.rotations.push(record.rotation);
            catalog.oblateness.push(record.oblateness);
            catalog.airless.push(record.airless);
            positions.push(DVec3::from_array(record.position_m));
            velocities.push(DVec3::from_array(record.velocity_m_s));
            gms.push(record.gm_m3_s2);
        }
        if catalog.names.len() > MAX_BODIES {
            return Err(EphemerisError::Body {
                body: "(all)".into(),
                reason: format!("at most {MAX_BODIES} bodies"),
            });
        }
        let roots: Vec<usize> = (0..catalog.parents.len())
            .filter(|&i| catalog.parents[i].is_none())
            .collect();
        let &[root] = roots.as_slice() else {
            return Err(EphemerisError::Body {
                body: "(all)".into(),
                reason: format!(
                    "exactly one body without a parent is needed, found {}",
                    roots.len()
                ),
            });
        };
        let state = NBodyState::new(positions, velocities, gms, relativity.then_some(root));
        let mut bodies = Self {
            soi: vec![f64::INFINITY; catalog.names.len()],
            catalog,
            state,
            integrator,
            oblate: true,
        };
        bodies.update_spheres_of_influence();
        Ok(bodies)
    }

    /// Recomputes each sphere of influence from the current distance to the parent.
    pub fn update_spheres_of_influence(&mut self) {
        for (i, parent) in self.catalog.parents.iter().enumerate() {
            self.soi[i] = match *parent {
                None => f64::INFINITY,
                Some(p) => sphere_of_influence(
                    self.state.positions[i].distance(self.state.positions[p]),
                    self.state.gms[i],
                    self.state.gms[p],
                ),
            };
        }
    }

    /// Integrates the bodies over `duration` game seconds (either sign) in steps of
    /// at most `max_step`: how the server reaches a start epoch other than J2000.
    pub fn propagate(&mut self, duration: f64, max_step: f64) {
        let steps = (duration.abs() / max_step).ceil();
        if steps == 0.0 {
            return;
        }
        let dt = duration / steps;
        for _ in 0..steps as u64 {
            self.state.step(self.integrator, dt);
        }
        self.update_spheres_of_influence();
    }
}

/// Loads the bodies the config names and propagates them to the start epoch.
pub fn load_bodies(config: &Config) -> Result<(Bodies, f64), EphemerisError> {
    let mut bodies = Bodies::load(
        &config.physics.ephemeris,
        config.physics.relativity,
        config.physics.body_integrator,
    )?;
    bodies.oblate = config.physics.oblateness;
    let start = galaxy_shared::units::days_to_game_time(config.tick.start_epoch_days);
    bodies.propagate(start, config.physics.body_step_s);
    Ok((bodies, start))
}

fn spawn_body_entities(mut commands: Commands, bodies: Res<Bodies>) {
    for i in 0..bodies.state.len() {
        commands.spawn((
            Name::new(bodies.catalog.names[i].clone()),
            Body { index: i },
            Gm(bodies.state.gms[i]),
            Radius(bodies.catalog.radii[i]),
            Position(bodies.state.positions[i]),
            Velocity(bodies.state.velocities[i]),
        ));
    }
}
