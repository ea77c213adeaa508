// The Sun's glare (see `client/src/scene/sky.rs`): light scattered in the camera's
// optics, on a quad facing the camera through the Sun's centre, added to what is
// behind. Its luminance falls off with the square of the angle from the Sun, as
// veiling glare does in an eye or a lens, levels off in a small core and fades out
// before the quad's edge.

#import bevy_pbr::{forward_io::VertexOutput, mesh_view_bindings::view}
#ifdef TONEMAP_IN_SHADER
#import bevy_core_pipeline::tonemapping::tone_mapping
#endif

struct Glow {
    // Luminance one degree from the Sun (cd/m²), per channel.
    glare: vec3<f32>,
    // Tangent of the angle from the Sun to the quad's edge.
    tan_reach: f32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> glow: Glow;

// Angle (degrees) within which the glare stops growing: about the Sun's own disc
// from 1 AU, where it is white anyway.
const CORE_DEG: f32 = 0.5;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    // 0 at the Sun, 1 at the quad's inscribed circle.
    let r = length(in.uv * 2.0 - 1.0);
    if r >= 1.0 {
        discard;
    }
    let angle = degrees(atan(r * glow.tan_reach));
    let fade = (1.0 - r * r) * (1.0 - r * r);
    let luminance = glow.glare * fade / (angle * angle + CORE_DEG * CORE_DEG);
    var color = vec4<f32>(luminance * view.exposure, 1.0);
#ifdef TONEMAP_IN_SHADER
    color = tone_mapping(color, view.color_grading);
#endif
    // Premultiplied with no coverage: added to what is behind.
    return vec4<f32>(color.rgb, 0.0);
}
