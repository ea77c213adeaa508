// The ground of a planet or moon as Bevy's standard material draws it in the forward
// pass, with two additions (see `client/src/scene/ground.rs`):
//
// - Relief finer than the surface map, so the ground keeps its texture in low orbit
//   and on landing where the map's texels are kilometres wide: two tiling height
//   fields (hills, and craters in the body's share) in three octaves, laid on the body-fixed sphere by projecting along its three
//   axes, shading the light by the slope of the ground and varying its brightness.
//   The field is mipmapped to its mean, so where it is finer than a pixel it adds
//   nothing: the map alone shows from afar.
// - The emissive map (Earth's city lights) kept to where the Sun is down. The Sun is
//   the scene's one directional light, so the lights go out along the terminator
//   that shades the ground.

#import bevy_pbr::{
    forward_io::{VertexOutput, FragmentOutput},
    mesh_view_bindings::lights,
    pbr_bindings,
    pbr_fragment::pbr_input_from_standard_material,
    pbr_functions::{apply_pbr_lighting, main_pass_post_lighting_processing},
}
#import bevy_render::maths::{PI, PI_2}

struct Ground {
    // Sine of the Sun's elevation above which no city lights show.
    day: f32,
    // Sine of the Sun's elevation below which they all do.
    night: f32,
    // Steepest slope of each octave of relief (0: none).
    roughness: f32,
    // 1 where the map's blue parts are water, which is left flat.
    water: f32,
    // The body's radius (m).
    radius: f32,
    // Craters' share of the relief, to the hills' 1.
    craters: f32,
    // WebGL2 binds uniform blocks in whole 16 bytes.
    _padding: vec2<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(100) var<uniform> ground: Ground;
@group(#{MATERIAL_BIND_GROUP}) @binding(101) var hills_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(102) var relief_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(103) var craters_texture: texture_2d<f32>;

// Map texels across one tile of the relief texture.
const TEXELS_PER_TILE: f32 = 8.0;
// Each octave's frequency over the one before: not a whole number, so their tiles
// never line up.
const OCTAVE: f32 = 5.3;
const OCTAVES: i32 = 3;
// How far relief brightens or darkens the map.
const TINT: f32 = 0.22;
// Pixel footprint (radii) below which the relief starts to fade: 3.5 m on the Moon,
// 13 m on Earth.
const MIN_FOOTPRINT: f32 = 2e-6;
// Projections weighing less than this are skipped.
const MIN_WEIGHT: f32 = 0.02;

// The body-fixed unit direction under map coordinates `uv` (`u` 0.5 on the prime
// meridian growing east, `v` 0 at the north pole).
fn body_fixed(uv: vec2<f32>) -> vec3<f32> {
    let longitude = (uv.x - 0.5) * PI_2;
    let latitude = (0.5 - uv.y) * PI;
    return vec3(cos(latitude) * cos(longitude), cos(latitude) * sin(longitude), sin(latitude));
}

// One projection of one octave, hills and craters: its height (-1 to 1 for each)
// and the height's change one pixel right and one pixel down, for a slope of at
// most 1 per unit of `step` for each (the textures' slopes are normalised to their
// steepest).
fn project(coords: vec2<f32>, step_x: vec2<f32>, step_y: vec2<f32>, scale: f32) -> vec3<f32> {
    let grad_x = step_x * scale;
    let grad_y = step_y * scale;
    var texel = textureSampleGrad(hills_texture, relief_sampler, coords, grad_x, grad_y).rgb * 2.0 - 1.0;
    if ground.craters > 0.0 {
        let crater = textureSampleGrad(craters_texture, relief_sampler, coords, grad_x, grad_y).rgb;
        texel += ground.craters * (crater * 2.0 - 1.0);
    }
    return vec3(texel.r, dot(texel.gb, step_x), dot(texel.gb, step_y));
}

// The relief at body-fixed `d`, `d_x` and `d_y` its change one pixel right and down:
// height (-1 to 1, summed over octaves) and the change of the height in radii.
fn relief(d: vec3<f32>, d_x: vec3<f32>, d_y: vec3<f32>, tiles: f32) -> vec3<f32> {
    var weights = pow(abs(d), vec3(4.0));
    weights /= weights.x + weights.y + weights.z;
    var sum = vec3(0.0);
    var scale = tiles;
    var share = 1.0;
    for (var octave = 0; octave < OCTAVES; octave++) {
        // Offset per octave, so each octave's tiles start somewhere else.
        let p = d * scale + vec3(0.37, 0.71, 0.13) * f32(octave);
        var layer = vec3(0.0);
        if weights.x > MIN_WEIGHT {
            layer += weights.x * project(p.yz, d_x.yz, d_y.yz, scale);
        }
        if weights.y > MIN_WEIGHT {
            layer += weights.y * project(p.zx, d_x.zx, d_y.zx, scale);
        }
        if weights.z > MIN_WEIGHT {
            layer += weights.z * project(p.xy, d_x.xy, d_y.xy, scale);
        }
        // Heights shrink with the octave's wavelength; slopes stay as steep.
        sum += vec3(layer.x * share, layer.yz);
        scale *= OCTAVE;
        share *= 0.5;
    }
    return sum;
}

@fragment
fn fragment(in: VertexOutput, @builtin(front_facing) is_front: bool) -> FragmentOutput {
    var pbr_input = pbr_input_from_standard_material(in, is_front);
    if ground.roughness > 0.0 {
        let d = body_fixed(in.uv);
        let d_x = dpdx(d);
        let d_y = dpdy(d);
        let sigma_x = dpdx(in.world_position.xyz);
        let sigma_y = dpdy(in.world_position.xyz);
        let tiles = f32(textureDimensions(pbr_bindings::base_color_texture).x) / (PI_2 * TEXELS_PER_TILE);
        let r = relief(d, d_x, d_y, tiles);
        let base = pbr_input.material.base_color.rgb;
        let water = base.b / max(max(base.r, base.g), 1e-3);
        // The map coordinates are f32, in steps of about 6e-8 of a turn: where a
        // pixel spans only a few millionths of a radius (metres, near a landed ship),
        // those steps would show as noise in the slopes, so the relief fades out.
        let footprint = min(length(sigma_x), length(sigma_y)) / ground.radius;
        let resolved = smoothstep(MIN_FOOTPRINT, 4.0 * MIN_FOOTPRINT, footprint);
        let land = resolved * mix(1.0, 1.0 - smoothstep(1.15, 1.6, water), ground.water);
        pbr_input.material.base_color = vec4(base * (1.0 + TINT * land * r.x), pbr_input.material.base_color.a);
        // The height's change across a pixel, in metres, bends the normal by the
        // surface gradient (Mikkelsen, "Bump Mapping Unparametrized Surfaces on the
        // GPU", 2010): no tangent frame needed.
        let rise = r.yz * ground.roughness * ground.radius * land;
        let n = pbr_input.N;
        let across_y = cross(sigma_y, n);
        let across_x = cross(n, sigma_x);
        let det = dot(sigma_x, across_y);
        let bent = abs(det) * n - sign(det) * (rise.x * across_y + rise.y * across_x);
        if dot(bent, bent) > 0.0 {
            pbr_input.N = normalize(bent);
        }
    }
    var dark = 1.0;
    if lights.n_directional_lights > 0u {
        let sun = lights.directional_lights[0].direction_to_light;
        dark = 1.0 - smoothstep(ground.night, ground.day, dot(pbr_input.world_normal, sun));
    }
    let emissive = pbr_input.material.emissive;
    // The alpha is the emissive's exposure weight: kept.
    pbr_input.material.emissive = vec4(emissive.rgb * dark, emissive.a);
    var out: FragmentOutput;
    out.color = main_pass_post_lighting_processing(pbr_input, apply_pbr_lighting(pbr_input));
    return out;
}
