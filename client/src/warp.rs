//! Asking for warp (docs/spec.md, "Shared time warp"): `.` and `,` step the own
//! request up and down a ladder of rates, and `warp <x>` in the console sets it. The
//! server answers with the rate in force and why (`Event::Clock`), which the HUD
//! shows beside the request.

use bevy::prelude::*;
use galaxy_shared::protocol::{ClientMessage, MAX_WARP_REQUEST, MIN_WARP_REQUEST};

use crate::console::console_closed;
use crate::net::{Latest, Outgoing};
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        step_request_with_keys
            .in_set(ClientSystems::Input)
            .run_if(in_state(Screen::Flight).and_then(console_closed)),
    );
}

/// The rates the keys step through.
const LADDER: [f64; 9] = [
    1.0,
    5.0,
    10.0,
    50.0,
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
];

/// The rung above (`up`) or below `request`; a request between rungs steps to the
/// nearest one in that direction, and the ends stay put.
fn step(request: f64, up: bool) -> f64 {
    let next = if up {
        LADDER.iter().find(|&&rung| rung > request)
    } else {
        LADDER.iter().rev().find(|&&rung| rung < request)
    };
    next.copied().unwrap_or(request)
}

/// Reads the arguments of a console `warp` line: the factor to ask for.
pub(crate) fn parse_request(args: &str) -> Result<f64, String> {
    let usage =
        || format!("usage: warp <x> with x from {MIN_WARP_REQUEST} to {MAX_WARP_REQUEST:e}");
    let mut words = args.split_whitespace();
    match (words.next(), words.next()) {
        (Some(word), None) => word
            .parse::<f64>()
            .ok()
            .filter(|x| (MIN_WARP_REQUEST..=MAX_WARP_REQUEST).contains(x))
            .ok_or_else(usage),
        _ => Err(usage()),
    }
}

/// Sends a request and shows it at once; the server's next clock event confirms it.
pub(crate) fn ask(factor: f64, latest: &mut Latest, outgoing: &mut MessageWriter<Outgoing>) {
    if let Some(warp) = &mut latest.warp {
        warp.request = factor;
    }
    outgoing.write(Outgoing(ClientMessage::Warp { factor }));
}

fn step_request_with_keys(
    keys: Res<ButtonInput<KeyCode>>,
    mut latest: ResMut<Latest>,
    mut outgoing: MessageWriter<Outgoing>,
) {
    let up = keys.just_pressed(KeyCode::Period);
    if up == keys.just_pressed(KeyCode::Comma) {
        return;
    }
    let current = latest
        .warp
        .as_ref()
        .map_or(MIN_WARP_REQUEST, |warp| warp.request);
    let next = step(current, up);
    if next != current {
        ask(next, &mut latest, &mut outgoing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_walk_the_ladder_and_stop_at_its_ends() {
        assert_eq!(step(1.0, true), 5.0);
        assert_eq!(step(100.0, false), 50.0);
        assert_eq!(step(300.0, true), 1_000.0, "between rungs, up to the next");
        assert_eq!(step(300.0, false), 100.0);
        assert_eq!(step(1.0, false), 1.0);
        assert_eq!(step(1_000_000.0, true), 1_000_000.0);
        assert!(
            LADDER
                .iter()
                .all(|r| (MIN_WARP_REQUEST..=MAX_WARP_REQUEST).contains(r))
        );
    }

    #[test]
    fn console_requests_are_checked_before_they_are_sent() {
        assert_eq!(parse_request("1000"), Ok(1000.0));
        assert_eq!(parse_request(" 1e4 "), Ok(10_000.0));
        for bad in ["", "0.5", "fast", "1e8", "NaN", "10 20"] {
            assert!(parse_request(bad).is_err(), "{bad}");
        }
    }
}
