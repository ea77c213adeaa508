//! End-to-end networking against the real server binary on loopback: players on
//! UDP and WebSocket, state sync, services, admin over the game connection, token
//! replay, and the defences against malformed packets.

use std::time::{Duration, Instant};

use galaxy_shared::components::HoldMode;
use galaxy_shared::flight_plan::{BurnPhase, LandingPhase, Node, PlanCommand};
use galaxy_shared::protocol::{
    CHANNEL_RELIABLE, ClientMessage, Event, Service, WarpReason, WireControls, unpack_quat,
};
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::hostile::{Hostile, Sent, attack};
use galaxy_tests::server::{ServerProcess, ServerSetup, series_value};
use glam::DVec3;

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(15);

fn player(server: &ServerProcess, name: &str, transport: Transport) -> Bot {
    let login = Login::register_and_login(&server.http_url(), name, PASSWORD).expect("login works");
    let mut bot = Bot::connect(&login, transport).expect("bot starts connecting");
    assert!(
        bot.wait_until(WAIT, |b| b.welcome.is_some() && b.state.is_some()),
        "{name} got no welcome and state over {transport:?}\n{}",
        server.log()
    );
    bot
}

fn speed(bot: &Bot) -> f64 {
    bot.own.expect("has state").velocity.length()
}

#[test]
fn players_on_udp_and_websocket_fly_and_see_each_other() {
    let server = ServerProcess::start(None, &[]);
    let mut alice = player(&server, "alice", Transport::Udp);
    let mut bob = player(&server, "bob", Transport::WebSocket);
    let welcome = alice.welcome.clone().expect("welcomed");
    assert_eq!(welcome.bodies.len(), 11);
    assert!(welcome.bodies.iter().any(|b| b.name == "Earth"));
    let before = speed(&alice);
    assert!(
        (7_600.0..7_800.0).contains(&before),
        "spawned in a 400 km orbit: {before} m/s"
    );

    // Full throttle along the nose (held prograde): 10 m/s² on a full ship.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        alice.input(1.0, WireControls::Hold(HoldMode::Prograde));
        alice.wait_until(Duration::from_millis(50), |_| false);
        bob.pump();
    }
    alice.input(0.0, WireControls::Hold(HoldMode::Prograde));
    alice.wait_until(Duration::from_millis(300), |_| false);
    let after = speed(&alice);
    assert!(
        after > before + 15.0,
        "throttle up must speed the ship: {before} → {after} m/s"
    );
    let fuel = alice.own.expect("state").fuel;
    assert!(
        fuel < u16::MAX,
        "the burn used propellant: {fuel}/65535 of the tank left"
    );

    let alice_ship = welcome.ship;
    assert!(
        bob.wait_until(WAIT, |b| b.ships_seen.contains(&alice_ship)),
        "bob never saw alice's ship {alice_ship}; saw {:?}",
        bob.ships_seen
    );
    let bob_ship = bob.welcome.as_ref().expect("welcomed").ship;
    assert!(
        alice.wait_until(WAIT, |a| a.ships_seen.contains(&bob_ship)),
        "alice never saw bob"
    );
}

#[test]
fn refuel_and_reset_are_answered_with_events() {
    let server = ServerProcess::start(None, &[]);
    let mut bot = player(&server, "carol", Transport::Udp);
    bot.send(&ClientMessage::Service(Service::Refuel));
    assert!(
        bot.wait_until(WAIT, |b| b.events.contains(&Event::Refuelled)),
        "no refuel event: {:?}",
        bot.events
    );
    bot.send(&ClientMessage::Service(Service::Reset));
    assert!(
        bot.wait_until(WAIT, |b| b.events.contains(&Event::Reset)),
        "no reset event: {:?}",
        bot.events
    );
}

/// The newest flight plan the server sent the bot.
fn plan(bot: &Bot) -> Option<(&[Node], Option<BurnPhase>)> {
    bot.events.iter().rev().find_map(|event| match event {
        Event::Plan { nodes, burn } => Some((&nodes[..], *burn)),
        _ => None,
    })
}

/// The refusals the bot has been sent.
fn refusals(bot: &Bot) -> Vec<&str> {
    bot.events
        .iter()
        .filter_map(|event| match event {
            Event::Rejected(reason) => Some(reason.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_planned_burn_is_flown_by_the_executor_and_bad_plans_are_refused() {
    let setup = ServerSetup::new(None);
    setup.create_admin("ann", PASSWORD);
    let server = setup.start(&[]);
    let login = Login::request(&server.http_url(), "ann", PASSWORD).expect("ann logs in");
    let mut ann = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(ann.wait_until(WAIT, |b| b.state.is_some() && plan(b).is_some()));
    assert_eq!(
        plan(&ann),
        Some((&[][..], None)),
        "told the empty plan at connect"
    );
    let now = ann.state.as_ref().expect("state").game_time;
    let node = |at: f64, prograde: f64| Node {
        at,
        prograde,
        normal: 0.0,
        radial: 0.0,
    };

    // Refused with a reason, and nothing changes.
    ann.send(&ClientMessage::Plan(PlanCommand::Add(node(
        now - 10.0,
        5.0,
    ))));
    ann.send(&ClientMessage::Plan(PlanCommand::Execute { all: false }));
    ann.input(0.0, WireControls::Hold(HoldMode::Node));
    assert!(
        ann.wait_until(WAIT, |b| refusals(b).len() >= 3),
        "{:?}",
        ann.events
    );
    let reasons = refusals(&ann).join(" | ");
    for expected in ["in the future", "no node to execute", "burn executor"] {
        assert!(reasons.contains(expected), "{expected:?} not in {reasons}");
    }
    assert_eq!(plan(&ann), Some((&[][..], None)));

    // A 10 m/s prograde node 150 s ahead, executed; an admin speeds the wait up.
    let welcome = ann.welcome.as_ref().expect("welcomed");
    let gm = welcome
        .bodies
        .iter()
        .find(|b| b.name == "Earth")
        .expect("Earth")
        .gm;
    let energy = |bot: &Bot| {
        let own = bot.own.expect("state");
        0.5 * own.velocity.length_squared() - gm / own.position.length()
    };
    let (before, speed_before) = (energy(&ann), speed(&ann));
    ann.send(&ClientMessage::Plan(PlanCommand::Add(node(
        now + 150.0,
        10.0,
    ))));
    ann.send(&ClientMessage::Plan(PlanCommand::Execute { all: false }));
    assert!(
        ann.wait_until(WAIT, |b| plan(b).is_some_and(|(nodes, burn)| {
            nodes.len() == 1 && burn == Some(BurnPhase::Waiting)
        }))
    );
    let (ok, output) = ann.admin("timescale force 50", WAIT).expect("answered");
    assert!(ok, "{output}");
    assert!(
        ann.wait_until(Duration::from_secs(30), |b| b
            .events
            .iter()
            .any(|e| matches!(e, Event::BurnFinished { .. }))),
        "no burn finished: {:?}\n{}",
        ann.events,
        server.log()
    );
    let left = ann.events.iter().find_map(|e| match e {
        Event::BurnFinished { left_m_s } => Some(*left_m_s),
        _ => None,
    });
    assert!(left.is_some_and(|left| left < 0.1), "{left:?} m/s left");
    assert!(ann.wait_until(WAIT, |b| plan(b) == Some((&[][..], None))));
    // The orbit's energy grew by v·Δv (vis-viva for a 10 m/s prograde burn).
    let gained = energy(&ann) - before;
    let expected = speed_before * 10.0;
    assert!(
        (gained / expected - 1.0).abs() < 0.02,
        "the orbit gained {gained:.0} J/kg, a 10 m/s prograde burn gives {expected:.0}"
    );
}

#[test]
fn the_landing_autopilot_sets_a_player_down_on_the_moon_while_the_clock_warps() {
    let setup = ServerSetup::new(None);
    setup.create_admin("lia", PASSWORD);
    // Burns and the braking run at ten times real time, so the test takes a minute.
    let server = setup.start(&[("GALAXY_WARP__SAFE_RATE", "10")]);
    let login = Login::request(&server.http_url(), "lia", PASSWORD).expect("lia logs in");
    let mut lia = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(lia.wait_until(WAIT, |b| b.state.is_some()));
    for line in ["teleport lia Moon 30", "timescale 1000"] {
        let (ok, output) = lia.admin(line, WAIT).expect("answered");
        assert!(ok, "{line}: {output}");
    }
    lia.send(&ClientMessage::Warp { factor: 1_000.0 });
    lia.send(&ClientMessage::Plan(PlanCommand::Land));
    let down = |b: &Bot| {
        b.events
            .iter()
            .any(|e| matches!(e, Event::Touchdown { .. } | Event::Destroyed(_)))
    };
    assert!(
        lia.wait_until(Duration::from_secs(150), down),
        "not down: {:?}\n{}",
        lia.events,
        server.log()
    );
    assert!(
        lia.events.contains(&Event::Landed("Moon".into())),
        "{:?}",
        lia.events
    );
    let touchdown = lia.events.iter().find_map(|e| match e {
        Event::Touchdown { speed_m_s } => Some(*speed_m_s),
        _ => None,
    });
    assert!(
        touchdown.is_some_and(|speed| speed <= 2.0),
        "touchdown at {touchdown:?} m/s"
    );
    // The autopilot's phases reached the player in order, and it let go.
    let phases: Vec<_> = lia
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Landing(phase) => Some(*phase),
            _ => None,
        })
        .collect();
    let flown = [
        LandingPhase::Deorbit,
        LandingPhase::Coast,
        LandingPhase::Brake,
        LandingPhase::Descend,
    ];
    let mut told = vec![None];
    told.extend(flown.map(Some));
    told.push(None);
    assert_eq!(phases, told);
}

#[test]
fn admin_pause_stops_game_time_for_everyone_and_players_are_refused() {
    let setup = ServerSetup::new(None);
    setup.create_admin("root", PASSWORD);
    let server = setup.start(&[]);
    let login = Login::request(&server.http_url(), "root", PASSWORD).expect("admin logs in");
    let mut admin = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(admin.wait_until(WAIT, |b| b.state.is_some()));
    let mut dave = player(&server, "dave", Transport::WebSocket);

    dave.send(&ClientMessage::Admin {
        line: "pause".into(),
    });
    assert!(dave.wait_until(WAIT, |b| !b.admin_replies.is_empty()));
    let (ok, output) = dave.admin_replies[0].clone();
    assert!(
        !ok && output.contains("admin"),
        "a player's pause must be refused: {output}"
    );

    admin.send(&ClientMessage::Admin {
        line: "pause".into(),
    });
    assert!(
        admin.wait_until(WAIT, |b| b.admin_replies.iter().any(|(ok, _)| *ok)),
        "{:?}",
        admin.admin_replies
    );
    assert!(
        dave.wait_until(WAIT, |b| b.state.as_ref().is_some_and(|s| s.paused)),
        "dave never saw the pause"
    );
    let frozen = dave.state.as_ref().expect("state").game_time;
    let tick = dave.state.as_ref().expect("state").tick;
    dave.wait_until(Duration::from_secs(1), |_| false);
    admin.pump();
    let state = dave.state.as_ref().expect("state");
    assert!(state.tick > tick, "ticks keep running while paused");
    assert_eq!(state.game_time, frozen, "no game time passes while paused");
    assert!(
        dave.events
            .iter()
            .any(|e| matches!(e, Event::Clock { paused: true, .. }))
    );

    admin.send(&ClientMessage::Admin {
        line: "resume".into(),
    });
    assert!(admin.wait_until(WAIT, |b| {
        b.admin_replies.iter().any(|(_, o)| o == "resumed")
    }));
    assert!(dave.wait_until(WAIT, |b| {
        b.state
            .as_ref()
            .is_some_and(|s| !s.paused && s.game_time > frozen)
    }));
    admin.send(&ClientMessage::Admin {
        line: "players".into(),
    });
    assert!(admin.wait_until(WAIT, |b| {
        b.admin_replies.iter().any(|(_, o)| o.contains("dave"))
    }));
}

#[test]
fn a_replayed_connect_token_is_refused() {
    let server = ServerProcess::start(None, &[]);
    let login = Login::register_and_login(&server.http_url(), "erin", PASSWORD).expect("login");
    let mut first = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(first.wait_until(WAIT, |b| b.welcome.is_some()));
    let mut replay = Bot::connect(&login, Transport::Udp).expect("starts");
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline && replay.welcome.is_none() {
        replay.pump();
        first.pump();
        std::thread::sleep(Duration::from_millis(5));
    }
    let got_in = replay.welcome.is_some();
    assert!(
        !got_in,
        "the same connect token must not open a second session"
    );
    assert!(
        first.wait_until(Duration::from_secs(1), |b| b.is_connected()),
        "the first session survives"
    );
}

/// Every hostile sequence a connected client sends, over UDP and over WebSocket:
/// full-size renet slices that disagree on their count (the pair that indexed
/// renet's slice table out of bounds), on both channels, reliable and unreliable;
/// empty messages and far-future ids that grow renet's buffers; and datagrams with
/// bad netcode prefixes or too short for their MAC from the connected address itself.
#[test]
fn hostile_connected_clients_cannot_crash_the_server() {
    let server = ServerProcess::start(None, &[]);
    let mut hostiles = Vec::new();
    for (name, transport) in [("mallory", Transport::Udp), ("oscar", Transport::WebSocket)] {
        let login = Login::register_and_login(&server.http_url(), name, PASSWORD).expect("login");
        let hostile = Hostile::connect(&login, transport, WAIT)
            .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
        hostiles.push(hostile);
    }
    let mut sent = Vec::new();
    for hostile in &mut hostiles {
        sent.push(attack(hostile).expect("every hostile packet goes out"));
    }
    let settle = Instant::now() + Duration::from_millis(800);
    while Instant::now() < settle {
        for hostile in &mut hostiles {
            hostile.pump();
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    let health = server.try_get("/health").map(|reply| reply.status);
    assert_eq!(
        health,
        Ok(200),
        "a connected client's packets killed the server:\n{}",
        server.log()
    );
    assert!(
        !server.log().contains("panicked"),
        "the server panicked:\n{}",
        server.log()
    );
    let _trent = player(&server, "trent", Transport::Udp);
    let metrics = server.get("/metrics").body;
    let by_kind = |kind: &str| {
        series_value(
            &metrics,
            &format!("galaxy_guarded_packets_total{{kind=\"{kind}\"}}"),
        )
    };
    let total = |count: fn(&Sent) -> u32| f64::from(sent.iter().map(count).sum::<u32>());
    assert_eq!(
        by_kind("renet_slice"),
        total(|s| s.slices),
        "every hostile slice is dropped by the guard\n{metrics}"
    );
    assert_eq!(
        by_kind("netcode_prefix") + by_kind("netcode_length"),
        total(|s| s.bad_datagrams),
        "every bad datagram from a connected address is dropped\n{metrics}"
    );
    assert_eq!(
        by_kind("renet_message"),
        total(|s| s.empty_messages),
        "{metrics}"
    );
    assert_eq!(by_kind("renet_window"), total(|s| s.far_ids), "{metrics}");
    assert_eq!(
        by_kind("renet_header"),
        total(|s| s.wrong_type),
        "{metrics}"
    );
}

#[test]
fn a_client_that_keeps_sending_garbage_messages_is_cut_off() {
    let server = ServerProcess::start(None, &[]);
    let mut bot = player(&server, "trent", Transport::Udp);
    for i in 0..40u8 {
        bot.send_raw(CHANNEL_RELIABLE, vec![0xff, i, 0xff, 0xff]);
    }
    assert!(
        bot.wait_until(WAIT, |b| b.is_disconnected()),
        "garbage sender was not disconnected"
    );
    assert!(
        bot.errors.iter().any(|e| e.contains("malformed")),
        "errors {:?}, events {:?}, undecodable {}\n{}",
        bot.errors,
        bot.events,
        bot.undecodable,
        server.log()
    );
    assert!(server.metric_sum("galaxy_rejected_messages_total") >= 20.0);
    assert!(server.metric("galaxy_garbage_disconnects_total") >= 1.0);
    assert_eq!(server.get("/health").status, 200);
}

/// Game seconds per real second the bot's states show over `window`.
fn measured_rate(bot: &mut Bot, window: Duration) -> f64 {
    let start = (Instant::now(), bot.state.as_ref().expect("state").game_time);
    bot.wait_until(window, |_| false);
    let game = bot.state.as_ref().expect("state").game_time - start.1;
    game / start.0.elapsed().as_secs_f64()
}

/// Waits until `bot` is told the clock runs at `rate` for `reason`; how long it took.
fn told(bot: &mut Bot, rate: f64, reason: &WarpReason) -> Duration {
    let started = Instant::now();
    assert!(
        bot.wait_until(WAIT, |b| b
            .warp()
            .is_some_and(|w| w.effective == rate && w.reason == *reason)),
        "never told x{rate} ({reason}); last told {:?}",
        bot.warp()
    );
    started.elapsed()
}

#[test]
fn players_share_one_clock_set_by_the_warp_policy_and_are_told_why() {
    let setup = ServerSetup::new(None);
    setup.create_admin("ann", PASSWORD);
    let server = setup.start(&[
        ("GALAXY_TICK__TIME_SCALE", "1000"),
        ("GALAXY_WARP__RAISE_AFTER_S", "1.5"),
        ("GALAXY_WARP__IDLE_AFTER_S", "8"),
    ]);
    let login = Login::request(&server.http_url(), "ann", PASSWORD).expect("ann logs in");
    let mut ann = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(ann.wait_until(WAIT, |b| b.state.is_some()));
    let mut bob = player(&server, "bob", Transport::WebSocket);
    let ann_asks = |name: &str| WarpReason::Request(name.into());

    // Nobody has asked for warp yet: both fly at real time, and are told why.
    told(&mut bob, 1.0, &ann_asks("ann"));
    let warp = bob.warp().expect("told").clone();
    assert_eq!((warp.cap, warp.request), (1000.0, 1.0));

    // The lowest request wins, whoever asked.
    // (A bot sends what it queued when it is pumped.)
    ann.send(&ClientMessage::Warp { factor: 500.0 });
    bob.send(&ClientMessage::Warp { factor: 100.0 });
    bob.pump();
    told(&mut ann, 100.0, &ann_asks("bob"));
    assert_eq!(
        ann.warp().expect("told").request,
        500.0,
        "ann's own request"
    );
    let rate = measured_rate(&mut ann, Duration::from_secs(2));
    assert!(
        (70.0..130.0).contains(&rate),
        "the clock runs at x100: x{rate}"
    );

    // Speeding up waits for the higher rate to hold; above the cap is the cap.
    bob.send(&ClientMessage::Warp { factor: 5000.0 });
    bob.pump();
    let waited = told(&mut ann, 500.0, &ann_asks("ann"));
    assert!(
        waited >= Duration::from_millis(1300),
        "raised after {waited:?}"
    );

    // A burn drops everyone to the safe rate at once, and it holds after the burn.
    ann.send(&ClientMessage::Warp { factor: 500.0 });
    bob.input(1.0, WireControls::Hold(HoldMode::Prograde));
    bob.pump();
    let waited = told(&mut ann, 1.0, &WarpReason::Thrusting("bob".into()));
    assert!(waited < Duration::from_secs(1), "dropped after {waited:?}");
    bob.input(0.0, WireControls::Hold(HoldMode::Prograde));
    bob.pump();
    let cut = Instant::now();
    told(&mut ann, 500.0, &ann_asks("ann"));
    assert!(
        cut.elapsed() >= Duration::from_millis(1300),
        "held {:?}",
        cut.elapsed()
    );

    // An idle player stops holding the clock down: bob keeps asking, ann does nothing.
    ann.send(&ClientMessage::Warp { factor: 500.0 });
    let ann_active = Instant::now();
    while ann_active.elapsed() < Duration::from_secs(30) {
        bob.send(&ClientMessage::Warp { factor: 5000.0 });
        ann.pump();
        if bob.wait_until(Duration::from_millis(500), |b| {
            b.warp().is_some_and(|w| w.reason == WarpReason::Cap)
        }) {
            break;
        }
    }
    assert_eq!(
        bob.warp().map(|w| (w.effective, &w.reason)),
        Some((1000.0, &WarpReason::Cap)),
        "with ann idle, bob's request is over the cap"
    );
    assert!(
        ann_active.elapsed() >= Duration::from_secs(8),
        "ann counted as idle after {:?}",
        ann_active.elapsed()
    );

    // An admin's forced rate is over the policy until the cap is set again.
    let (ok, output) = ann.admin("timescale force 20", WAIT).expect("answered");
    assert!(ok, "{output}");
    told(&mut bob, 20.0, &WarpReason::Forced);
    let (_, status) = ann.admin("status", WAIT).expect("answered");
    assert!(
        status.contains("warp x20 (forced by an admin; cap x20)"),
        "{status}"
    );
    ann.admin("timescale 1000", WAIT).expect("answered");
    told(&mut bob, 500.0, &ann_asks("ann"));
    let (_, players) = ann.admin("players", WAIT).expect("answered");
    assert!(
        players.contains("bob") && players.contains("asks x5000"),
        "{players}"
    );
}

#[test]
fn near_ships_carry_their_attitude_and_their_name_once() {
    let setup = ServerSetup::new(None);
    setup.create_admin("ada", PASSWORD);
    let server = setup.start(&[]);
    let login = Login::request(&server.http_url(), "ada", PASSWORD).expect("ada logs in");
    let mut ada = Bot::connect(&login, Transport::Udp).expect("connects");
    assert!(ada.wait_until(WAIT, |b| b.state.is_some()));
    let mut bob = player(&server, "bob", Transport::WebSocket);
    // The same circular orbit over the Moon, 1 km apart: well within name range.
    for line in ["teleport ada Moon 100", "teleport bob Moon 101"] {
        let (ok, output) = ada.admin(line, WAIT).expect("answered");
        assert!(ok, "{line}: {output}");
    }
    let ada_ship = ada.welcome.as_ref().expect("welcomed").ship;
    // Ada turns her nose to the orbit normal; Bob must see it turn.
    let nose_of = |attitude: [i16; 4]| unpack_quat(attitude) * DVec3::Z;
    let agree = |ada: &Bot, bob: &Bot| {
        let (Some(own), Some(seen)) = (ada.own, bob.others.get(&ada_ship)) else {
            return false;
        };
        let normal = own.position.cross(own.velocity).normalize();
        nose_of(seen.attitude).dot(normal) > 0.999
            && nose_of(own.attitude).dot(nose_of(seen.attitude)) > 0.999
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) && !agree(&ada, &bob) {
        ada.input(0.0, WireControls::Hold(HoldMode::Normal));
        ada.wait_until(Duration::from_millis(50), |_| false);
        bob.pump();
    }
    assert!(
        agree(&ada, &bob),
        "bob does not see ada's nose on the orbit normal: ada's own {:?}, seen {:?}",
        ada.own.map(|o| nose_of(o.attitude)),
        bob.others.get(&ada_ship).map(|s| nose_of(s.attitude))
    );
    let named: Vec<&str> = bob
        .ship_names
        .iter()
        .filter(|label| label.id == ada_ship)
        .map(|label| label.name.as_str())
        .collect();
    assert_eq!(named, ["ship of ada"], "ada's name, sent once");
}
