//! The floating origin: positions are barycentric f64 metres, but the GPU draws
//! f32 relative to the own ship, so nothing near the camera loses precision however
//! far from the Sun it flies.

use bevy::prelude::*;
use glam::DVec3;

use crate::ClientSystems;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FloatingOrigin>();
    app.add_systems(Update, place_in_render_space.in_set(ClientSystems::Place));
}

/// The barycentric position drawn at the render-space origin.
#[derive(Resource, Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct FloatingOrigin(pub DVec3);

/// Where an entity is, barycentric ICRF (m); its `Transform` follows.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct WorldPosition(pub DVec3);

/// Render-space position of barycentric `position` around `origin`: the difference
/// is taken in f64 before it is narrowed.
pub(crate) fn to_render(position: DVec3, origin: DVec3) -> Vec3 {
    (position - origin).as_vec3()
}

pub(super) fn place_in_render_space(
    origin: Res<FloatingOrigin>,
    mut entities: Query<(&WorldPosition, &mut Transform)>,
) {
    entities
        .par_iter_mut()
        .for_each(|(position, mut transform)| {
            transform.translation = to_render(position.0, origin.0);
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metre_next_to_a_ship_at_saturn_stays_a_metre() {
        let saturn = DVec3::new(1.4e12, -3.0e11, 5.0e10);
        let neighbour = saturn + DVec3::new(1.0, 0.25, -0.5);
        let render = to_render(neighbour, saturn);
        assert_eq!(render, Vec3::new(1.0, 0.25, -0.5));
        // The naive way loses the metre entirely.
        assert_ne!(neighbour.as_vec3() - saturn.as_vec3(), render);
    }
}
