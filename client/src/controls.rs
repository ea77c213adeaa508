//! Flight controls (SPEC §10): W/S pitch, A/D yaw, Q/E roll, Shift/Ctrl throttle,
//! Z full, X cut, T stability, 1–7 hold modes, 0 free rotation, F refuel, R reset.
//! The pilot's state goes to the server 20 times a second with the newest state's
//! tick as `ack`, the baseline for the server's own-ship deltas.

use bevy::prelude::*;
use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::{ClientMessage, Service, WireControls};

use crate::console::console_closed;
use crate::net::{Latest, Link, LinkStatus, Outgoing};
use crate::{ClientSystems, Screen};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Pilot>();
    app.add_systems(
        Update,
        (
            read_pilot_keys.run_if(console_closed),
            release_controls.run_if(not(console_closed)),
        )
            .in_set(ClientSystems::Input)
            .run_if(in_state(Screen::Flight)),
    );
    app.add_systems(
        Update,
        send_inputs
            .in_set(ClientSystems::Present)
            .run_if(in_state(Screen::Flight)),
    );
}

/// Inputs per second, matching the server's state rate.
const INPUT_HZ: f32 = 20.0;
/// Throttle change per second while Shift or Ctrl is held.
const THROTTLE_RATE: f32 = 0.5;

/// What the pilot is commanding.
#[derive(Resource, Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pilot {
    /// Throttle 0..1.
    pub throttle: f32,
    /// Hold mode when no rotation key is held; `None` for free rotation.
    pub hold: Option<HoldMode>,
    /// Pitch, yaw, roll commands from the keys, −1..1.
    pub rates: [f32; 3],
    /// Sequence number of the last input sent.
    seq: u32,
}

impl Default for Pilot {
    fn default() -> Self {
        Self {
            throttle: 0.0,
            hold: Some(HoldMode::Stability),
            rates: [0.0; 3],
            seq: 0,
        }
    }
}

/// Pitch, yaw and roll commands from the rotation keys.
pub(crate) fn rates_from_keys(pressed: impl Fn(KeyCode) -> bool) -> [f32; 3] {
    let axis = |plus: KeyCode, minus: KeyCode| {
        f32::from(i8::from(pressed(plus)) - i8::from(pressed(minus)))
    };
    [
        axis(KeyCode::KeyS, KeyCode::KeyW),
        axis(KeyCode::KeyA, KeyCode::KeyD),
        axis(KeyCode::KeyE, KeyCode::KeyQ),
    ]
}

/// Throttle after `dt` seconds with the up/down keys held.
pub(crate) fn step_throttle(throttle: f32, up: bool, down: bool, dt: f32) -> f32 {
    let change = (f32::from(u8::from(up)) - f32::from(u8::from(down))) * THROTTLE_RATE * dt;
    (throttle + change).clamp(0.0, 1.0)
}

/// The hold mode a key selects: `Some(None)` for free rotation, `None` if the key
/// is not a hold key.
pub(crate) fn hold_for_key(key: KeyCode) -> Option<Option<HoldMode>> {
    Some(match key {
        KeyCode::Digit1 => Some(HoldMode::Stability),
        KeyCode::Digit2 => Some(HoldMode::Prograde),
        KeyCode::Digit3 => Some(HoldMode::Retrograde),
        KeyCode::Digit4 => Some(HoldMode::Normal),
        KeyCode::Digit5 => Some(HoldMode::AntiNormal),
        KeyCode::Digit6 => Some(HoldMode::RadialIn),
        KeyCode::Digit7 => Some(HoldMode::RadialOut),
        KeyCode::Digit8 => Some(HoldMode::Target),
        KeyCode::Digit9 => Some(HoldMode::AntiTarget),
        KeyCode::Minus => Some(HoldMode::RelativePrograde),
        KeyCode::Equal => Some(HoldMode::RelativeRetrograde),
        KeyCode::Digit0 => None,
        _ => return None,
    })
}

/// What goes on the wire: held rotation keys win over the hold mode.
pub(crate) fn wire_controls(pilot: &Pilot) -> WireControls {
    match pilot.hold {
        Some(mode) if pilot.rates == [0.0; 3] => WireControls::Hold(mode),
        _ => WireControls::Rates(pilot.rates),
    }
}

fn read_pilot_keys(
    time: Res<Time>,
    keys: Res<ButtonInput<KeyCode>>,
    mut pilot: ResMut<Pilot>,
    mut outgoing: MessageWriter<Outgoing>,
) {
    pilot.rates = rates_from_keys(|k| keys.pressed(k));
    pilot.throttle = step_throttle(
        pilot.throttle,
        keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]),
        keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]),
        time.delta_secs(),
    );
    for key in keys.get_just_pressed() {
        match key {
            KeyCode::KeyZ => pilot.throttle = 1.0,
            KeyCode::KeyX => pilot.throttle = 0.0,
            KeyCode::KeyT => {
                pilot.hold = match pilot.hold {
                    Some(HoldMode::Stability) => None,
                    _ => Some(HoldMode::Stability),
                }
            }
            KeyCode::KeyF => {
                outgoing.write(Outgoing(ClientMessage::Service(Service::Refuel)));
            }
            KeyCode::KeyR => {
                outgoing.write(Outgoing(ClientMessage::Service(Service::Reset)));
            }
            key => {
                if let Some(hold) = hold_for_key(*key) {
                    pilot.hold = hold;
                }
            }
        }
    }
}

/// While the console has the keyboard, no rotation key is held.
fn release_controls(mut pilot: ResMut<Pilot>) {
    pilot.rates = [0.0; 3];
}

fn send_inputs(
    time: Res<Time<Real>>,
    mut timer: Local<Option<Timer>>,
    link: Res<Link>,
    latest: Res<Latest>,
    mut pilot: ResMut<Pilot>,
    mut outgoing: MessageWriter<Outgoing>,
) {
    let timer =
        timer.get_or_insert_with(|| Timer::from_seconds(1.0 / INPUT_HZ, TimerMode::Repeating));
    if !timer.tick(time.delta()).just_finished() || link.status != LinkStatus::Connected {
        return;
    }
    pilot.seq = pilot.seq.wrapping_add(1);
    outgoing.write(Outgoing(ClientMessage::Input {
        seq: pilot.seq,
        ack: latest.tick,
        throttle: pilot.throttle,
        controls: wire_controls(&pilot),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_rotation_axes() {
        let held = |keys: &'static [KeyCode]| move |k: KeyCode| keys.contains(&k);
        assert_eq!(rates_from_keys(held(&[])), [0.0, 0.0, 0.0]);
        assert_eq!(rates_from_keys(held(&[KeyCode::KeyW])), [-1.0, 0.0, 0.0]);
        assert_eq!(
            rates_from_keys(held(&[KeyCode::KeyS, KeyCode::KeyD])),
            [1.0, -1.0, 0.0]
        );
        assert_eq!(
            rates_from_keys(held(&[KeyCode::KeyQ, KeyCode::KeyE])),
            [0.0, 0.0, 0.0]
        );
        assert_eq!(rates_from_keys(held(&[KeyCode::KeyE])), [0.0, 0.0, 1.0]);
    }

    #[test]
    fn throttle_ramps_and_clamps() {
        assert_eq!(step_throttle(0.0, true, false, 1.0), 0.5);
        assert_eq!(step_throttle(0.9, true, false, 1.0), 1.0);
        assert_eq!(step_throttle(0.2, false, true, 1.0), 0.0);
        assert_eq!(step_throttle(0.4, true, true, 1.0), 0.4);
    }

    #[test]
    fn rotation_keys_override_the_hold_and_releasing_them_restores_it() {
        let mut pilot = Pilot {
            hold: Some(HoldMode::Prograde),
            ..Pilot::default()
        };
        assert_eq!(
            wire_controls(&pilot),
            WireControls::Hold(HoldMode::Prograde)
        );
        pilot.rates = [0.0, 1.0, 0.0];
        assert_eq!(wire_controls(&pilot), WireControls::Rates([0.0, 1.0, 0.0]));
        pilot.rates = [0.0; 3];
        pilot.hold = None;
        assert_eq!(wire_controls(&pilot), WireControls::Rates([0.0; 3]));
        assert_eq!(
            hold_for_key(KeyCode::Digit3),
            Some(Some(HoldMode::Retrograde))
        );
        assert_eq!(hold_for_key(KeyCode::Digit0), Some(None));
        assert_eq!(hold_for_key(KeyCode::KeyP), None);
    }

    #[test]
    fn inputs_go_out_at_twenty_hertz_with_the_newest_tick_as_ack() {
        use bevy::time::TimeUpdateStrategy;
        use std::time::Duration;
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, bevy::state::app::StatesPlugin))
            .init_state::<Screen>()
            .configure_sets(
                Update,
                (ClientSystems::Input, ClientSystems::Present).chain(),
            )
            .add_message::<Outgoing>()
            .init_resource::<crate::console::ConsoleState>()
            .init_resource::<Link>()
            .init_resource::<Latest>()
            .insert_resource(ButtonInput::<KeyCode>::default())
            .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
                10,
            )))
            .add_plugins(plugin);
        app.world_mut().resource_mut::<Link>().status = LinkStatus::Connected;
        app.world_mut().resource_mut::<Latest>().tick = 42;
        app.world_mut()
            .resource_mut::<NextState<Screen>>()
            .set(Screen::Flight);
        let mut sent = Vec::new();
        for _ in 0..101 {
            app.update();
            let messages = app
                .world_mut()
                .resource_mut::<Messages<Outgoing>>()
                .drain()
                .collect::<Vec<_>>();
            sent.extend(messages);
        }
        assert!(
            (19..=21).contains(&sent.len()),
            "one second of frames sends 20 inputs, sent {}",
            sent.len()
        );
        assert!(
            sent.iter()
                .all(|Outgoing(m)| matches!(m, ClientMessage::Input { ack: 42, .. })),
            "{sent:?}"
        );
    }
}
