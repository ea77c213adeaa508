// A body's atmosphere, drawn on the far side of a shell a little larger than the body
// (see `client/src/scene/sky.rs`). Each pixel follows its view ray through the air in
// the body's own frame, with the body's radius as the unit: single scattering of
// sunlight in air whose density falls off exponentially with height. The air along a
// ray comes from an approximation of the Chapman function, not a loop of samples, so
// a pixel costs the same from orbit as from the ground and the software renderer can
// afford it across the whole screen.

#import bevy_pbr::{mesh_functions, mesh_view_bindings::view}
#import bevy_render::maths::{PI, HALF_PI}
#ifdef TONEMAP_IN_SHADER
#import bevy_core_pipeline::tonemapping::tone_mapping
#endif

struct Air {
    // The camera (radii).
    eye: vec3<f32>,
    // Radius of the shell drawn (radii).
    shell: f32,
    // Unit vector towards the Sun.
    sun: vec3<f32>,
    // Density scale height (radii).
    scale_height: f32,
    // Optical depth straight up from the ground, per channel.
    depth: vec3<f32>,
    // Sunlight (lux), as much as lights the ground.
    sunlight: f32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> air: Air;

// Single scattering alone leaves the limb dimmer than photographs from orbit show:
// light scattered more than once, and off the lit ground below, adds about half as
// much again (at 3, as much again twice over, the ground in low orbit washed out).
const GAIN: f32 = 1.5;

// Largest exponent taken: a sun ray through the body is dark long before it.
const MAX_EXPONENT: f32 = 60.0;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
}

struct Varyings {
    @builtin(position) position: vec4<f32>,
    // The shell's point in the body's frame: the mesh is the body's child, unturned
    // and unscaled, so its local frame is the body's.
    @location(0) local: vec3<f32>,
}

struct Output {
    @location(0) color: vec4<f32>,
    @builtin(frag_depth) depth: f32,
}

@vertex
fn vertex(vertex: Vertex) -> Varyings {
    let world_from_local = mesh_functions::get_world_from_local(vertex.instance_index);
    var out: Varyings;
    out.position = mesh_functions::mesh_position_local_to_clip(
        world_from_local,
        vec4<f32>(vertex.position, 1.0),
    );
    out.local = vertex.position;
    return out;
}

// How much more air a path out to space crosses than the path straight up from the
// same height, leaving `x` scale heights from the centre at zenith cosine `mu` >= 0:
// 1 straight up, sqrt(pi x / 2) along the horizon, and a rational blend between.
fn slant(x: f32, mu: f32) -> f32 {
    let horizontal = sqrt(HALF_PI * x);
    return horizontal / ((horizontal - 1.0) * mu + 1.0);
}

// Air along a ray from radius `r` at zenith cosine `mu` out to space, counted in
// vertical columns from the ground up.
fn column(r: f32, mu: f32) -> f32 {
    let h = air.scale_height;
    let here = exp(-(r - 1.0) / h);
    if mu >= 0.0 {
        return here * slant(r / h, mu);
    }
    // Downwards: the whole line through its lowest point (twice the horizontal path
    // from there) less the half behind this point, which looks upwards.
    let lowest = r * sqrt(max(1.0 - mu * mu, 0.0));
    let there = exp(min((1.0 - lowest) / h, MAX_EXPONENT));
    return 2.0 * there * sqrt(HALF_PI * lowest / h) - here * slant(r / h, -mu);
}

@fragment
fn fragment(in: Varyings) -> Output {
    let ray = normalize(in.local - air.eye);
    // The ray's closest approach to the centre, `t_low` along it. Radii anywhere along
    // the ray follow from it by Pythagoras, which stays exact for a far camera where
    // |eye|² - shell² would cancel away.
    let t_low = -dot(air.eye, ray);
    let low = air.eye + t_low * ray;
    let low_sq = dot(low, low);
    let shell_sq = air.shell * air.shell;
    if low_sq >= shell_sq {
        discard;
    }
    let half_chord = sqrt(shell_sq - low_sq);
    let t_start = max(t_low - half_chord, 0.0);
    var t_end = t_low + half_chord;
    let from_low = t_start - t_low;
    let r_start = sqrt(low_sq + from_low * from_low);

    var columns: f32;
    if low_sq < 1.0 && t_low > 0.0 {
        // The ray ends on the ground. Count its air looking back from the ground
        // towards the camera: both ends then look upwards, where the sums stay small.
        let rise = sqrt(1.0 - low_sq);
        t_end = t_low - rise;
        columns = column(1.0, rise) - column(r_start, -from_low / r_start);
    } else {
        columns = column(r_start, from_low / r_start);
    }
    if t_end <= t_start {
        discard;
    }
    let optical_depth = air.depth * max(columns, 0.0);
    if max(optical_depth.x, max(optical_depth.y, optical_depth.z)) < 1e-5 {
        discard;
    }

    // Sunlight reaching the densest air on the ray, through the air on its way: none
    // in the body's shadow, reddened near the terminator.
    let t_lit = clamp(t_low, t_start, t_end);
    let from_low_lit = t_lit - t_low;
    let r_lit = sqrt(low_sq + from_low_lit * from_low_lit);
    let lit = air.eye + t_lit * ray;
    let sunward = column(r_lit, dot(lit, air.sun) / r_lit);
    let sunlit = exp(-air.depth * sunward);

    // Rayleigh's phase function (per steradian); the air in front of the camera
    // scatters 1 - e^-depth of what crosses it.
    let cos_angle = dot(ray, air.sun);
    let phase = 3.0 / (16.0 * PI) * (1.0 + cos_angle * cos_angle);
    let through = exp(-optical_depth);
    let luminance = air.sunlight * GAIN * phase * sunlit * (1.0 - through);
    var color = vec4<f32>(luminance * view.exposure, 1.0);
#ifdef TONEMAP_IN_SHADER
    color = tone_mapping(color, view.color_grading);
#endif

    var out: Output;
    // Premultiplied: the scattered light, over what is behind dimmed by the air.
    out.color = vec4<f32>(color.rgb, 1.0 - (through.x + through.y + through.z) / 3.0);
    // Depth of the middle of the air crossed, not of the shell's far side: with an
    // infinite reversed-z projection depth goes as 1 / distance along a ray.
#ifdef WEBGL2
    // In WebGL2 (Chromium's SwiftShader at least) a moved depth left whole triangles
    // of the shell dark over the ground. The shell keeps its own depth there: the
    // ground hides the air over it, and the limb still glows.
    out.depth = in.position.z;
#else
    let t_mesh = length(in.local - air.eye);
    let t_middle = max(0.5 * (t_start + t_end), 1e-9);
    out.depth = clamp(in.position.z * t_mesh / t_middle, 0.0, 1.0);
#endif
    return out;
}
