//! The star background: a few thousand fixed points on a sphere far beyond the
//! planets, one pixel each, in the faint colours of real stars.

use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::NoFrustumCulling;
use bevy::mesh::PrimitiveTopology;
use bevy::prelude::*;

use crate::Screen;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Flight), spawn_stars);
}

/// Stars drawn.
const STARS: usize = 4_000;
/// Radius of the star sphere (m): the camera never moves far enough from the
/// floating origin for parallax to show.
const STAR_DISTANCE: f32 = 1.0e16;

/// Unit directions and linear colours of `count` stars, from a fixed seed so every
/// run shows the same sky.
pub(crate) fn star_field(count: usize, seed: u64) -> Vec<(Vec3, [f32; 4])> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|_| {
            // Uniform on the sphere: z uniform in −1..1, longitude uniform.
            let z = rng.f32() * 2.0 - 1.0;
            let longitude = rng.f32() * std::f32::consts::TAU;
            let ring = (1.0 - z * z).sqrt();
            let direction = Vec3::new(ring * longitude.cos(), ring * longitude.sin(), z);
            // Most stars are faint; a few are bright.
            let brightness = 0.15 + 0.85 * rng.f32().powi(6);
            let warmth = rng.f32();
            let tint = [1.0 - 0.2 * (1.0 - warmth), 0.95, 0.8 + 0.2 * (1.0 - warmth)];
            (
                direction,
                [
                    tint[0] * brightness,
                    tint[1] * brightness,
                    tint[2] * brightness,
                    1.0,
                ],
            )
        })
        .collect()
}

fn spawn_stars(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    commands.spawn((
        sky_of_stars(&mut meshes, &mut materials),
        DespawnOnExit(Screen::Flight),
    ));
}

/// The fixed stars: one point each on a sphere around the origin.
pub(crate) fn sky_of_stars(
    meshes: &mut Assets<Mesh>,
    materials: &mut Assets<StandardMaterial>,
) -> impl Bundle {
    let stars = star_field(STARS, 0x5eed_57a5);
    let positions: Vec<[f32; 3]> = stars
        .iter()
        .map(|(d, _)| (*d * STAR_DISTANCE).to_array())
        .collect();
    let colors: Vec<[f32; 4]> = stars.iter().map(|(_, c)| *c).collect();
    let mesh = Mesh::new(
        PrimitiveTopology::PointList,
        RenderAssetUsages::RENDER_WORLD,
    )
    .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
    .with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, colors);
    (
        Name::new("Stars"),
        Mesh3d(meshes.add(mesh)),
        MeshMaterial3d(materials.add(StandardMaterial {
            base_color: Color::WHITE,
            // Unlit colours are scaled by the camera's exposure like everything
            // else; sunlight exposure needs a bright source to show at all.
            emissive: LinearRgba::rgb(1.0, 1.0, 1.0) * 60_000.0,
            unlit: true,
            ..default()
        })),
        Transform::default(),
        NoFrustumCulling,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sky_is_fixed_and_spread_over_the_sphere() {
        let stars = star_field(2_000, 7);
        assert_eq!(stars, star_field(2_000, 7), "same seed, same sky");
        let mean: Vec3 = stars.iter().map(|(d, _)| *d).sum::<Vec3>() / stars.len() as f32;
        assert!(mean.length() < 0.1, "no hemisphere is favoured: {mean}");
        assert!(stars.iter().all(|(d, _)| (d.length() - 1.0).abs() < 1e-4));
    }
}
