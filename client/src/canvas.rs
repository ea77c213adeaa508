//! The browser canvas's drawing buffer follows the page: the viewport's CSS size times the
//! device pixel ratio, also when the ratio changes after start (a browser zoom, a move
//! to another screen). winit reports the new ratio, but Bevy 0.19 keeps the old
//! physical size when the scale factor changes, so the picture would stay blurred at
//! the old resolution; this plugin puts the window's resolution right.

#[cfg(target_arch = "wasm32")]
use bevy::prelude::*;
#[cfg(target_arch = "wasm32")]
use bevy::window::PrimaryWindow;

#[cfg(target_arch = "wasm32")]
pub(super) fn plugin(app: &mut App) {
    app.add_systems(First, follow_the_page);
}

/// The scale factor and physical size a canvas of `css` CSS pixels needs at device
/// pixel ratio `ratio`, when `window` has something else; `None` when it is right.
pub(crate) fn wanted_resolution(
    window: &bevy::window::WindowResolution,
    css: (f64, f64),
    ratio: f64,
) -> Option<(f32, u32, u32)> {
    if !(ratio.is_finite() && ratio > 0.0 && css.0 > 0.0 && css.1 > 0.0) {
        return None;
    }
    let physical = (
        (css.0 * ratio).round() as u32,
        (css.1 * ratio).round() as u32,
    );
    let same_scale = (f64::from(window.scale_factor()) - ratio).abs() < 1e-3;
    let same_size = window.physical_width().abs_diff(physical.0) <= 1
        && window.physical_height().abs_diff(physical.1) <= 1;
    (!(same_scale && same_size)).then_some((ratio as f32, physical.0, physical.1))
}

#[cfg(target_arch = "wasm32")]
fn follow_the_page(mut window: Single<&mut Window, With<PrimaryWindow>>) {
    let Some(page) = web_sys::window() else {
        return;
    };
    // The canvas fills the viewport (`position: fixed; inset: 0`). Its own element
    // size would not do: winit writes the size it was asked for into its style.
    let (Some(width), Some(height)) = (
        page.inner_width().ok().and_then(|w| w.as_f64()),
        page.inner_height().ok().and_then(|h| h.as_f64()),
    ) else {
        return;
    };
    let css = (width, height);
    if let Some((scale, width, height)) =
        wanted_resolution(&window.resolution, css, page.device_pixel_ratio())
    {
        window.resolution.set_scale_factor(scale);
        window.resolution.set_physical_resolution(width, height);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bevy::window::WindowResolution;

    #[test]
    fn a_denser_screen_asks_for_more_pixels_and_a_right_one_for_none() {
        let mut resolution = WindowResolution::new(640, 400);
        resolution.set_scale_factor(1.0);
        assert_eq!(
            wanted_resolution(&resolution, (640.0, 400.0), 1.0),
            None,
            "already right"
        );
        assert_eq!(
            wanted_resolution(&resolution, (640.0, 400.0), 2.0),
            Some((2.0, 1280, 800))
        );
        assert_eq!(
            wanted_resolution(&resolution, (960.0, 600.0), 1.0),
            Some((1.0, 960, 600)),
            "a resize"
        );
        assert_eq!(
            wanted_resolution(&resolution, (0.0, 400.0), 2.0),
            None,
            "hidden"
        );
        assert_eq!(
            wanted_resolution(&resolution, (640.0, 400.0), f64::NAN),
            None
        );
    }
}
