// Earth's surface as Bevy's standard material draws it in the forward pass, with its
// emissive map (the city lights) kept to where the Sun is down (see
// `client/src/scene/sky.rs`). The Sun is the scene's one directional light, so the
// lights go out along the same terminator that shades the ground.

#import bevy_pbr::{
    forward_io::{VertexOutput, FragmentOutput},
    mesh_view_bindings::lights,
    pbr_fragment::pbr_input_from_standard_material,
    pbr_functions::{apply_pbr_lighting, main_pass_post_lighting_processing},
}

// Where the lights show, as sines of the Sun's elevation.
struct Twilight {
    // Above this, none.
    day: f32,
    // Below this, all.
    night: f32,
    _padding: vec2<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(100) var<uniform> twilight: Twilight;

@fragment
fn fragment(in: VertexOutput, @builtin(front_facing) is_front: bool) -> FragmentOutput {
    var pbr_input = pbr_input_from_standard_material(in, is_front);
    var dark = 1.0;
    if lights.n_directional_lights > 0u {
        let sun = lights.directional_lights[0].direction_to_light;
        dark = 1.0 - smoothstep(twilight.night, twilight.day, dot(pbr_input.world_normal, sun));
    }
    let emissive = pbr_input.material.emissive;
    // The alpha is the emissive's exposure weight: kept.
    pbr_input.material.emissive = vec4<f32>(emissive.rgb * dark, emissive.a);
    var out: FragmentOutput;
    out.color = main_pass_post_lighting_processing(pbr_input, apply_pbr_lighting(pbr_input));
    return out;
}
