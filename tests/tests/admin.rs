//! Admin power against the real server binary: it follows the database, not the
//! connect token, for every line from the game connection; kick, ban, promote,
//! demote, teleport, refuel and reset do what they say to the players they name.

use std::time::Duration;

use galaxy_shared::protocol::Event;
use galaxy_tests::bot::{Bot, Login, Transport};
use galaxy_tests::server::{ServerProcess, ServerSetup};

const PASSWORD: &str = "correct horse battery";
const WAIT: Duration = Duration::from_secs(15);

fn connect(login: &Login, transport: Transport, server: &ServerProcess) -> Bot {
    let mut bot = Bot::connect(login, transport).expect("bot starts connecting");
    assert!(
        bot.wait_until(WAIT, |b| b.welcome.is_some() && b.state.is_some()),
        "no welcome and state over {transport:?}\n{}",
        server.log()
    );
    bot
}

fn player(server: &ServerProcess, name: &str, transport: Transport) -> (Login, Bot) {
    let login = Login::register_and_login(&server.http_url(), name, PASSWORD).expect("login");
    let bot = connect(&login, transport, server);
    (login, bot)
}

/// Sends an admin line and waits for its answer.
fn run(server: &ServerProcess, bot: &mut Bot, line: &str) -> (bool, String) {
    bot.admin(line, WAIT).unwrap_or_else(|| {
        panic!(
            "no answer to `{line}`; connected {}, errors {:?}, replies {:?}\n{}",
            bot.is_connected(),
            bot.errors,
            bot.admin_replies,
            server.log()
        )
    })
}

/// Audit rows written for `actor`, read from the server's SQLite file.
fn audit_rows(server: &ServerProcess, actor: &str) -> i64 {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&server.database_url)
            .await
            .expect("the server's database opens");
        let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM admin_audit WHERE actor = $1")
            .bind(actor)
            .fetch_one(&pool)
            .await
            .expect("audit table");
        count
    })
}

/// A server with an admin `root`, and root connected over UDP.
fn admin_server() -> (ServerProcess, Bot) {
    let setup = ServerSetup::new(None);
    setup.create_admin("root", PASSWORD);
    let server = setup.start(&[]);
    let login = Login::request(&server.http_url(), "root", PASSWORD).expect("root logs in");
    let root = connect(&login, Transport::Udp, &server);
    (server, root)
}

#[test]
fn admin_power_follows_the_database_not_the_token() {
    let (server, mut root) = admin_server();
    let (_, mut alice) = player(&server, "alice", Transport::WebSocket);

    // A player's lines are refused, and leave no audit rows behind.
    for _ in 0..10 {
        let (ok, output) = run(&server, &mut alice, "pause");
        assert!(!ok && output.contains("admin role required"), "{output}");
    }
    assert_eq!(audit_rows(&server, "alice"), 0, "refusals are not audited");
    assert_eq!(
        server.metric(r#"galaxy_admin_commands_total{outcome="refused"}"#),
        10.0
    );

    // Promoted: the same connection, with a player's token, may now run lines.
    assert_eq!(
        run(&server, &mut root, "promote alice"),
        (true, "alice is now an admin".into())
    );
    let (ok, output) = run(&server, &mut alice, "timescale 1");
    assert!(ok, "a promoted player runs admin lines at once: {output}");
    // Demoted: refused at once, on a connection whose token still says admin.
    drop(alice);
    let alice_admin = Login::request(&server.http_url(), "alice", PASSWORD).expect("login");
    let mut alice_again = connect(&alice_admin, Transport::Udp, &server);
    assert_eq!(
        run(&server, &mut root, "demote alice"),
        (true, "alice is now a player".into())
    );
    let (ok, output) = run(&server, &mut alice_again, "pause");
    assert!(!ok && output.contains("admin role required"), "{output}");
    assert_eq!(
        audit_rows(&server, "alice"),
        1,
        "only alice's one `timescale` is audited"
    );

    // The HTTP endpoint re-reads the role too: a demoted admin's JWT is refused.
    let token = alice_admin.token.clone();
    let reply = server.post("/api/admin/command", r#"{"line":"status"}"#, Some(&token));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

#[test]
fn kick_ban_teleport_and_services_reach_their_players() {
    let (server, mut root) = admin_server();
    let (_, mut bob) = player(&server, "bob", Transport::Udp);
    let (carol_login, mut carol) = player(&server, "carol", Transport::Udp);

    // Teleport: bob's state is soon relative to the Moon, 100 km up.
    let moon = bob
        .welcome
        .as_ref()
        .and_then(|w| w.bodies.iter().find(|b| b.name == "Moon").cloned())
        .expect("the Moon is a body");
    let (ok, output) = run(&server, &mut root, "teleport bob Moon 100");
    assert!(ok, "{output}");
    assert!(
        bob.wait_until(WAIT, |b| b.own.is_some_and(|own| own.dominant == moon.id)),
        "bob never flew about the Moon"
    );
    let altitude = bob.own.expect("state").position.length() - moon.radius;
    assert!(
        (altitude - 100_000.0).abs() < 1_000.0,
        "100 km above the Moon: {altitude} m"
    );

    // Refuel and reset by an admin answer bob with their events.
    assert!(run(&server, &mut root, "refuel bob").0);
    assert!(bob.wait_until(WAIT, |b| b.events.contains(&Event::Refuelled)));
    assert!(run(&server, &mut root, "reset bob").0);
    assert!(bob.wait_until(WAIT, |b| b.events.contains(&Event::Reset)));

    // Kick: bob is told why, then disconnected.
    assert_eq!(
        run(&server, &mut root, "kick bob"),
        (true, "bob disconnected".into())
    );
    assert!(
        bob.wait_until(WAIT, |b| b.is_disconnected()),
        "bob still connected"
    );
    assert!(
        bob.errors.iter().any(|e| e.contains("kicked")),
        "bob was not told why: {:?}",
        bob.errors
    );

    // Ban: carol is told and disconnected; her cached connect token (which netcode
    // accepts again from the same address) and a new login both get her nowhere.
    let carol_addr = carol.local_addr().expect("a UDP bot has an address");
    let (ok, output) = run(&server, &mut root, "ban carol");
    assert!(ok, "{output}");
    assert!(carol.wait_until(WAIT, |b| b.is_disconnected()));
    assert!(
        carol.errors.iter().any(|e| e.contains("banned")),
        "{:?}",
        carol.errors
    );
    drop(carol);
    let mut again = Bot::connect_from(&carol_login, Transport::Udp, carol_addr).expect("starts");
    again.wait_until(WAIT, |b| b.is_disconnected() || b.welcome.is_some());
    assert!(
        again.welcome.is_none() && again.errors.iter().any(|e| e.contains("banned")),
        "the server itself refuses a banned player's cached token: welcome {:?}, errors {:?}",
        again.welcome.is_some(),
        again.errors
    );
    let (status, _, _) = server.login("carol", PASSWORD);
    assert_eq!(status, 403, "a banned login is refused");
    let (ok, output) = run(&server, &mut root, "players");
    assert!(
        ok && output.contains("root") && !output.contains("carol") && !output.contains("bob"),
        "{output}"
    );
}
