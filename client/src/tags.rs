//! Name tags over the other ships near the own ship: each one's name (as the
//! server sent it) and distance, for the nearest few, kept clear of the HUD.

use bevy::prelude::*;
use galaxy_shared::protocol::NAME_DISTANCE;
use glam::DVec3;

use crate::camera::OrbitCamera;
use crate::hud::{HudRects, covers, format_distance, hud_rects, screen_label};
use crate::net::ShipNames;
use crate::scene::origin::WorldPosition;
use crate::scene::ships::{OtherShipModel, OwnShipNow};
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(OnEnter(Screen::Flight), spawn_tags);
    app.add_systems(Update, place_tags.in_set(ClientSystems::Present));
}

/// Most tags shown at once: the nearest ships get them.
const MAX_TAGS: usize = 8;

/// One of the [`MAX_TAGS`] tag labels.
#[derive(Component)]
struct NameTag;

fn spawn_tags(mut commands: Commands) {
    for _ in 0..MAX_TAGS {
        commands.spawn((
            Name::new("Name tag"),
            NameTag,
            screen_label("", Color::srgb(1.0, 0.78, 0.55)),
        ));
    }
}

/// The ships that get a tag: within [`NAME_DISTANCE`] of `own`, nearest first, at
/// most [`MAX_TAGS`]; each with its distance (m).
fn nearest<T>(own: DVec3, ships: impl Iterator<Item = (T, DVec3)>) -> Vec<(T, f64)> {
    let mut near: Vec<(T, f64)> = ships
        .map(|(ship, position)| (ship, position.distance(own)))
        .filter(|(_, distance)| *distance <= NAME_DISTANCE)
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1));
    near.truncate(MAX_TAGS);
    near
}

/// A tag's words: the name, or the network id until the name arrives.
fn tag_text(name: Option<&str>, id: u32, distance: f64) -> String {
    let distance = format_distance(distance);
    match name {
        Some(name) => format!("{name} · {distance}"),
        None => format!("ship {id} · {distance}"),
    }
}

fn place_tags(
    own: Res<OwnShipNow>,
    names: Res<ShipNames>,
    camera: Single<(&Camera, &Transform, &OrbitCamera)>,
    ships: Query<(&OtherShipModel, &WorldPosition, &Transform, &ViewVisibility)>,
    mut tags: Query<(&mut Text, &mut Node, &mut Visibility, &ComputedNode), With<NameTag>>,
    hud: HudRects,
) {
    let (camera, camera_transform, orbit) = camera.into_inner();
    let shown = if own.live && !orbit.map {
        nearest(
            own.position,
            ships
                .iter()
                .filter(|(.., seen)| seen.get())
                .map(|(model, position, transform, _)| {
                    ((model.id, transform.translation), position.0)
                }),
        )
    } else {
        Vec::new()
    };
    let view = GlobalTransform::from(*camera_transform);
    let rects = hud_rects(&hud);
    let mut shown = shown.into_iter();
    for (mut text, mut node, mut visibility, computed) in &mut tags {
        let placed = shown.next().and_then(|((id, at), distance)| {
            let screen = camera.world_to_viewport(&view, at).ok()?;
            let corner = screen + Vec2::new(10.0, -20.0);
            text.0 = tag_text(names.0.get(&id).map(String::as_str), id, distance);
            node.left = Val::Px(corner.x);
            node.top = Val::Px(corner.y);
            (!covers(&rects, corner, computed)).then_some(())
        });
        visibility.set_if_neq(match placed {
            Some(()) => Visibility::Inherited,
            None => Visibility::Hidden,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_ships_within_name_range_get_tags_nearest_first() {
        let own = DVec3::new(7.0e6, 0.0, 0.0);
        let ships =
            (0..20u32).map(|i| (i, own + DVec3::new(0.0, 4_000.0 * f64::from(20 - i), 0.0)));
        let tagged = nearest(own, ships);
        // 20 − i ≤ 12.5 for name range: ships 8..20; the nearest eight are 19 down to 12.
        let ids: Vec<u32> = tagged.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [19, 18, 17, 16, 15, 14, 13, 12]);
        assert!((tagged[0].1 - 4_000.0).abs() < 1e-6);
        let far = nearest(
            own,
            std::iter::once((1u32, own + DVec3::X * (NAME_DISTANCE + 1.0))),
        );
        assert!(far.is_empty(), "out of name range: no tag");
    }

    #[test]
    fn a_tag_names_the_ship_once_its_name_is_known() {
        assert_eq!(
            tag_text(Some("ship of ada"), 3, 12_500.0),
            "ship of ada · 12.5 km"
        );
        assert_eq!(tag_text(None, 3, 80.0), "ship 3 · 80 m");
    }
}
