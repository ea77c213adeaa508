//! End-to-end networking against the real server binary on loopback: players on
//! UDP and WebSocket, state sync, services, admin over the game connection, token
//! replay, and the defences against malformed packets.

use std::net::UdpSocket;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use galaxy_shared::components::HoldMode;
use galaxy_shared::protocol::{CHANNEL_RELIABLE, ClientMessage, Event, Service, WireControls};
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::server::{ServerProcess, ServerSetup};
use renetcode2::{ClientAuthentication, NetcodeClient};

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

#[test]
fn admin_pause_stops_game_time_for_everyone_and_players_are_refused() {
    let setup = ServerSetup::new(None);
    let created = setup.create_user("root", PASSWORD, true);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
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

/// Connects a raw netcode client (no renet) so a test can send any payload the
/// server will decrypt.
fn raw_netcode_session(login: &Login, server: std::net::SocketAddr) -> (NetcodeClient, UdpSocket) {
    let token = login.connect_token(Transport::Udp).expect("token");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let mut client = NetcodeClient::new(
        now,
        ClientAuthentication::Secure {
            connect_token: token,
        },
    )
    .expect("client");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .expect("timeout");
    let mut buffer = [0u8; 1500];
    let mut last = Instant::now();
    let deadline = Instant::now() + WAIT;
    while !client.is_connected() && Instant::now() < deadline {
        if let Some((packet, addr)) = client.update(last.elapsed()) {
            socket.send_to(packet, addr).expect("send");
        }
        last = Instant::now();
        if let Ok((len, _)) = socket.recv_from(&mut buffer) {
            client.process_packet(&mut buffer[..len]);
        }
    }
    assert!(
        client.is_connected(),
        "raw netcode client could not connect to {server}"
    );
    (client, socket)
}

#[test]
fn malformed_packets_leave_the_server_running() {
    let server = ServerProcess::start(None, &[]);
    let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Netcode prefixes that claim 9–15 sequence bytes (panics before decryption).
    for prefix in [0x94u8, 0xf5, 0xa6, 0x91] {
        udp.send_to(&[prefix; 64], server.udp_addr).expect("send");
    }
    // Random datagrams of every size.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 1_400) as usize;
        let bytes: Vec<u8> = (0..len).map(|i| (seed >> (i % 56)) as u8).collect();
        udp.send_to(&bytes, server.udp_addr).expect("send");
    }
    // From an authenticated session: a renet slice whose index is past its count.
    let login = Login::register_and_login(&server.http_url(), "mallory", PASSWORD).expect("login");
    let (mut raw, socket) = raw_netcode_session(&login, server.udp_addr);
    for payload in [
        vec![2u8, 1, 0, 0, 5, 2, 1, 0xAA],
        vec![3u8, 2, 1, 0, 9, 1, 1, 0xAA],
        vec![2u8, 3, 0, 0, 0x41, 0x2c, 2, 1, 0xAA],
    ] {
        let (addr, packet) = raw.generate_payload_packet(&payload).expect("sealed");
        socket.send_to(packet, addr).expect("send");
    }
    std::thread::sleep(Duration::from_millis(500));

    // Still alive: health, a new player, and the counters show what was dropped.
    assert_eq!(
        server.get("/health").status,
        200,
        "server died:\n{}",
        server.log()
    );
    let mut bot = player(&server, "trent", Transport::Udp);
    let metrics = server.get("/metrics").body;
    let guarded = metric(&metrics, "galaxy_guarded_packets_total");
    assert!(
        guarded >= 7.0,
        "guarded packets counted: {guarded}\n{metrics}"
    );

    // A connected client that keeps sending garbage messages is cut off.
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
    let metrics = server.get("/metrics").body;
    assert!(metric(&metrics, "galaxy_bad_messages_total") >= 20.0);
    assert!(metric(&metrics, "galaxy_garbage_disconnects_total") >= 1.0);
    assert_eq!(server.get("/health").status, 200);
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no metric {name}"))
}
