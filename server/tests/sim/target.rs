//! Targets: the target hold points the nose at another ship.

use galaxy_server::ships::target::TargetCommand;
use galaxy_server::ships::{ShipAction, ShipEventKind};
use galaxy_shared::components::{Attitude, Controls, HoldMode, Position};
use galaxy_shared::physics::attitude::pointing_error;
use galaxy_shared::protocol::WireTarget;

use crate::harness::{Sim, config};

#[test]
fn the_target_hold_turns_the_nose_onto_the_target_ship() {
    let mut sim = Sim::new(config(&[]));
    let chaser = sim.spawn(sim.orbit_slot("Earth", 400_000.0, 0.0));
    let target = sim.spawn(sim.orbit_slot("Earth", 400_000.0, -0.001));
    let choose = |sim: &mut Sim, ship, target| {
        sim.app
            .world_mut()
            .write_message(TargetCommand { ship, target });
    };
    choose(&mut sim, chaser, Some(WireTarget::Ship(chaser.index_u32())));
    choose(&mut sim, chaser, Some(WireTarget::Ship(9_999_999)));
    choose(&mut sim, chaser, Some(WireTarget::Body(200)));
    sim.tick();
    let refused: Vec<String> = sim
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            ShipEventKind::Rejected { reason } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        [
            "a ship cannot target itself",
            "no such ship",
            "no such body"
        ]
    );
    choose(&mut sim, chaser, Some(WireTarget::Ship(target.index_u32())));
    sim.command(
        chaser,
        ShipAction::Controls(Controls::Hold(HoldMode::Target)),
    );
    // The ship spawns nose prograde; the target is 6.8 km behind, so the hold
    // turns it about. A minute at real time.
    let behind = sim.get::<Position>(target).0 - sim.get::<Position>(chaser).0;
    assert!(pointing_error(sim.get::<Attitude>(chaser).0, behind) > 3.0);
    sim.run_for(60.0);
    let line = sim.get::<Position>(target).0 - sim.get::<Position>(chaser).0;
    let error = pointing_error(sim.get::<Attitude>(chaser).0, line);
    // The line of sight turns with the orbit (0.06°/s) and the hold's one-second
    // response lags it by about that.
    assert!(
        error < 0.2f64.to_radians(),
        "the nose is {:.4}° off the target",
        error.to_degrees()
    );
    // Off the target, the hold holds still.
    choose(&mut sim, chaser, None);
    sim.run_for(5.0);
    let rate = sim
        .get::<galaxy_shared::components::AngularVelocity>(chaser)
        .0
        .length();
    assert!(
        rate < 1e-3,
        "turning at {rate} rad/s with nothing to aim at"
    );
}
