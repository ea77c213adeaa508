//! The HTTP API of the real `galaxy-server` binary: accounts, login, tokens,
//! throttling, health and the admin endpoint, on SQLite and on PostgreSQL.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use galaxy_shared::protocol::PROTOCOL_ID;
use galaxy_tests::server::{PgDatabase, ServerProcess, ServerSetup, series_value};
use renetcode2::ConnectToken;
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "root-password-1";

/// Decodes a base64 connect token from a login reply.
fn connect_token(reply: &Value, field: &str) -> ConnectToken {
    let encoded = reply[field]
        .as_str()
        .unwrap_or_else(|| panic!("login reply has {field}: {reply}"));
    let bytes = STANDARD
        .decode(encoded)
        .unwrap_or_else(|e| panic!("{field} is base64: {e}"));
    ConnectToken::read(&mut bytes.as_slice()).unwrap_or_else(|e| panic!("{field} parses: {e:?}"))
}

/// A JWT with its payload replaced, keeping header and signature.
fn tampered(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three parts: {token}");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload"))
            .expect("JSON payload");
    edit(&mut claims);
    format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    )
}

/// The same claims under `alg: none` with no signature.
fn unsigned(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let with_claims = tampered(token, edit);
    let payload = with_claims.split('.').nth(1).expect("payload");
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    format!("{header}.{payload}.")
}

fn admin_server(database_url: Option<&str>) -> ServerProcess {
    let setup = ServerSetup::new(database_url);
    assert!(setup.create_admin("root", ADMIN_PASSWORD) > 0);
    setup.start(&[])
}

/// Registration and login rules, shared by the SQLite and PostgreSQL runs.
fn check_accounts(server: &ServerProcess) {
    assert_eq!(server.register("alice", "correct horse"), 201);
    let created = server.post(
        "/api/auth/register",
        &json!({"username": "bob_2", "password": "battery staple"}).to_string(),
        None,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["username"], "bob_2");
    assert!(
        created.json()["player"].as_u64().is_some_and(|id| id > 0),
        "{}",
        created.body
    );

    assert_eq!(
        server.register("alice", "another password"),
        409,
        "duplicate"
    );
    assert_eq!(
        server.register("ALICE", "another password"),
        409,
        "names ignore case"
    );
    for (name, password, why) in [
        ("al", "long enough", "short name"),
        (&"x".repeat(33) as &str, "long enough", "long name"),
        ("bad name", "long enough", "space in name"),
        ("bad.name", "long enough", "dot in name"),
        ("carol", "short", "short password"),
        ("carol", &"p".repeat(129) as &str, "long password"),
    ] {
        let reply = server.post(
            "/api/auth/register",
            &json!({"username": name, "password": password}).to_string(),
            None,
        );
        assert_eq!(reply.status, 400, "{why}: {}", reply.body);
        assert!(
            reply.json()["error"].is_string(),
            "{why}: error body {}",
            reply.body
        );
    }
    for body in [
        "{not json",
        "",
        "[]",
        r#"{"username": "dave"}"#,
        r#"{"username": 5, "password": "x"}"#,
    ] {
        for path in ["/api/auth/register", "/api/auth/login"] {
            let reply = server.post(path, body, None);
            assert_eq!(reply.status, 400, "{path} with {body:?}: {}", reply.body);
            assert!(
                reply.json()["error"].is_string(),
                "{path} with {body:?}: {}",
                reply.body
            );
        }
    }

    let (status, login, _) = server.login("Alice", "correct horse");
    assert_eq!(status, 200, "{login}");
    let player = login["player"].as_u64().expect("player id");
    assert_eq!(login["role"], "player");
    assert!(
        login["token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3),
        "{login}"
    );
    assert!(login["expires_at"].as_u64().is_some());
    assert_eq!(login["udp_addr"], server.udp_addr.to_string());
    assert_eq!(
        login["ws_url"],
        format!("ws://127.0.0.1:{}", server.ws_addr.port())
    );
    for (field, socket_id, address) in [
        ("connect_token", 0, server.udp_addr),
        ("connect_token_ws", 1, server.ws_addr),
    ] {
        let token = connect_token(&login, field);
        assert_eq!(token.client_id, player, "{field} carries the player id");
        assert_eq!(token.protocol_id, PROTOCOL_ID);
        assert_eq!(token.socket_id, socket_id, "{field} socket");
        assert_eq!(token.server_addresses[0], Some(address), "{field} address");
        assert!(token.expire_timestamp > token.create_timestamp);
    }

    let (wrong_status, wrong, _) = server.login("alice", "wrong horse");
    let (unknown_status, unknown, _) = server.login("nobody", "wrong horse");
    assert_eq!((wrong_status, unknown_status), (401, 401));
    assert_eq!(
        wrong, unknown,
        "unknown user and wrong password look the same"
    );
}

/// The admin endpoint's refusals (which need no admin executor).
fn check_admin_refusals(server: &ServerProcess) {
    let line = json!({"line": "help"}).to_string();
    let (_, player, _) = server.login("alice", "correct horse");
    let player_token = player["token"].as_str().expect("token").to_owned();

    let no_token = server.post("/api/admin/command", &line, None);
    assert_eq!(no_token.status, 401, "{}", no_token.body);
    assert_eq!(
        server
            .post("/api/admin/command", &line, Some("garbage"))
            .status,
        401
    );
    let forged = tampered(&player_token, |c| c["role"] = json!("admin"));
    assert_eq!(
        server
            .post("/api/admin/command", &line, Some(&forged))
            .status,
        401,
        "tampered claims"
    );
    let none = unsigned(&player_token, |c| c["role"] = json!("admin"));
    assert_eq!(
        server.post("/api/admin/command", &line, Some(&none)).status,
        401,
        "alg none"
    );
    let reply = server.post("/api/admin/command", &line, Some(&player_token));
    assert_eq!(
        reply.status, 403,
        "a player is not an admin: {}",
        reply.body
    );
    let mut bad_signature = player_token.clone();
    bad_signature.push('x');
    assert_eq!(
        server
            .post("/api/admin/command", &line, Some(&bad_signature))
            .status,
        401,
        "bad signature"
    );
}

#[test]
fn accounts_login_and_admin_refusals_on_sqlite() {
    let server = admin_server(None);
    check_accounts(&server);
    check_admin_refusals(&server);

    assert_eq!(server.get("/health").status, 200);
    let ready = server.wait_for("/ready", 200, Duration::from_secs(10));
    assert_eq!(ready.status, 200, "ready: {}", ready.body);
    let metrics = server.get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    let value = |series: &str| series_value(&metrics.body, series);
    assert_eq!(
        value(r#"galaxy_logins_total{outcome="ok"}"#),
        2.0,
        "logins by outcome:\n{}",
        metrics.body
    );
    assert_eq!(value(r#"galaxy_logins_total{outcome="failed"}"#), 2.0);
    assert_eq!(value(r#"galaxy_registrations_total{outcome="ok"}"#), 2.0);
    assert!(
        value(r#"galaxy_http_requests_total{route="/api/auth/login",status="200"}"#) >= 2.0,
        "requests by route and status:\n{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("# TYPE galaxy_tick_duration_seconds histogram"),
        "the tick time is a histogram:\n{}",
        metrics.body
    );
}

#[test]
fn an_admin_runs_help_over_http() {
    let server = admin_server(None);
    let (status, root, _) = server.login("root", ADMIN_PASSWORD);
    assert_eq!(status, 200, "{root}");
    assert_eq!(root["role"], "admin");
    let token = root["token"].as_str().expect("token");
    let reply = server.post(
        "/api/admin/command",
        &json!({"line": "help"}).to_string(),
        Some(token),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["ok"], true, "{}", reply.body);
    assert!(
        reply.json()["output"]
            .as_str()
            .is_some_and(|o| o.contains("teleport")),
        "{}",
        reply.body
    );
}

#[test]
fn the_dashboards_endpoints_answer_admins_only() {
    let server = admin_server(None);
    assert_eq!(server.register("alice", "correct horse"), 201);
    let token = |name: &str, password: &str| {
        let (status, reply, _) = server.login(name, password);
        assert_eq!(status, 200, "{reply}");
        reply["token"].as_str().expect("token").to_owned()
    };
    let (root, alice) = (
        token("root", ADMIN_PASSWORD),
        token("alice", "correct horse"),
    );
    let bearer = |t: &str| format!("Bearer {t}");
    let get = |path: &str, t: &str| server.get_with(path, &[("authorization", bearer(t).as_str())]);
    for path in ["/api/admin/history", "/api/admin/audit"] {
        assert_eq!(server.get(path).status, 401, "{path} without a token");
        assert_eq!(get(path, &alice).status, 403, "{path} for a player");
    }
    let command = |line: &str| {
        let body = json!({ "line": line }).to_string();
        server.post("/api/admin/command", &body, Some(&root))
    };
    for line in [
        "pause",
        "status",
        "timescale 5",
        "players",
        "kick nobody",
        "resume",
    ] {
        assert_eq!(command(line).status, 200, "{line}");
    }
    // Audit rows are written off the tick: wait for the last one.
    let mut lines: Vec<String> = Vec::new();
    for _ in 0..50 {
        let audit = get("/api/admin/audit?limit=10", &root);
        assert_eq!(audit.status, 200, "{}", audit.body);
        lines = audit.json()["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .map(|e| e["line"].as_str().unwrap_or_default().to_owned())
            .collect();
        if lines.len() >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        lines,
        ["resume", "kick nobody", "timescale 5", "pause"],
        "newest first; reports (status, players) are not audited"
    );
    let filtered = get("/api/admin/audit?q=NOBODY", &root).json();
    assert_eq!(filtered["entries"][0]["output"], "nobody is not online");
    assert_eq!(filtered["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        get("/api/admin/audit?limit=1", &root).json()["entries"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(get("/api/admin/audit?limit=many", &root).status, 400);
    let long = format!("/api/admin/audit?q={}", "x".repeat(300));
    assert_eq!(get(&long, &root).status, 400, "an overlong filter");

    let history = get("/api/admin/history", &root);
    assert_eq!(history.status, 200, "{}", history.body);
    assert_eq!(history.json()["interval_s"], 10);
    assert!(history.json()["samples"].is_array(), "{}", history.body);

    let status = command("status").json();
    assert_eq!(status["data"]["database_up"], true, "{status}");
    assert!(
        status["data"]["snapshot_age_s"].is_null() || status["data"]["snapshot_age_s"].is_number()
    );

    let page = server.get("/admin");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Galaxy admin"), "{}", page.body);
    assert!(
        page.header("content-security-policy")
            .is_some_and(|p| p.contains("frame-ancestors 'none'")),
        "the dashboard cannot be framed"
    );
    assert_eq!(server.get("/admin/dashboard.js").status, 200);
}

/// A server that believes `X-Forwarded-For` from loopback, so one test can speak
/// from many client addresses, with small limits.
fn throttled_server() -> ServerProcess {
    ServerProcess::start(
        None,
        &[
            ("GALAXY_AUTH__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ("GALAXY_AUTH__MAX_FAILURES_PER_USERNAME", "5"),
            ("GALAXY_AUTH__MAX_FAILURES_PER_ADDRESS", "20"),
            ("GALAXY_AUTH__MAX_FAILURES_PER_ACCOUNT", "12"),
            ("GALAXY_AUTH__BACKOFF_BASE_S", "30"),
        ],
    )
}

#[test]
fn a_concurrent_burst_of_guesses_meets_the_serial_limit() {
    let server = throttled_server();
    assert_eq!(server.register("victim", "the right one"), 201);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..200)
            .map(|i| {
                let server = &server;
                scope.spawn(move || {
                    server
                        .login_from("203.0.113.66", "victim", &format!("guess {i}"))
                        .0
                })
            })
            .collect();
        guesses
            .into_iter()
            .map(|guess| guess.join().expect("guess thread"))
            .collect()
    });
    let wrong = statuses.iter().filter(|&&s| s == 401).count();
    let refused = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(
        (wrong, refused),
        (5, 195),
        "200 parallel guesses: only the serial limit is hashed; statuses {statuses:?}"
    );
    assert_eq!(
        server.metric(r#"galaxy_logins_total{outcome="failed"}"#),
        5.0
    );
    assert_eq!(
        server.metric(r#"galaxy_logins_total{outcome="throttled"}"#),
        195.0
    );
}

#[test]
fn a_stranger_cannot_lock_the_owner_out() {
    let server = throttled_server();
    assert_eq!(server.register("root2", "owner's password"), 201);
    assert_eq!(
        server
            .login_from("198.51.100.7", "root2", "owner's password")
            .0,
        200,
        "the owner logs in from home once"
    );
    // A stranger guesses until it backs off, then waits longer with every guess.
    for guess in 0..5 {
        assert_eq!(
            server.login_from("203.0.113.66", "root2", "guess").0,
            401,
            "guess {guess}"
        );
    }
    let (status, retry) = server.login_from("203.0.113.66", "root2", "owner's password");
    assert_eq!(
        status, 429,
        "the stranger backs off, even with the right password"
    );
    assert_eq!(retry, Some(30), "first backoff");
    // The owner, from home and from a new address, is not affected.
    assert_eq!(
        server
            .login_from("198.51.100.7", "root2", "owner's password")
            .0,
        200
    );
    assert_eq!(
        server
            .login_from("192.0.2.44", "root2", "owner's password")
            .0,
        200
    );

    // A botnet: one guess from each of many addresses locks the account for
    // addresses it has never seen log in, not for the owner's. With the stranger's
    // five, seven more reach the account's limit of twelve.
    for bot in 0..7 {
        let address = format!("100.64.0.{bot}");
        assert_eq!(
            server.login_from(&address, "root2", "guess").0,
            401,
            "bot {bot}"
        );
    }
    let (status, retry) = server.login_from("100.64.1.1", "root2", "owner's password");
    assert_eq!(
        status, 429,
        "a new address is refused under a distributed attack"
    );
    assert!(retry.is_some_and(|s| (1..=300).contains(&s)), "{retry:?}");
    assert_eq!(
        server
            .login_from("198.51.100.7", "root2", "owner's password")
            .0,
        200,
        "the owner's known address still gets in"
    );

    // One source trying many names is locked whatever name it tries next.
    assert_eq!(server.register("bystander", "the right one"), 201);
    for name in 0..20 {
        let guess = server.login_from("203.0.113.99", &format!("ghost{name}"), "x");
        assert_eq!(guess.0, 401, "ghost {name}");
    }
    let (status, retry) = server.login_from("203.0.113.99", "bystander", "the right one");
    assert_eq!(
        (status, retry),
        (429, Some(300)),
        "the source waits one window"
    );
    assert_eq!(
        server
            .login_from("203.0.113.100", "bystander", "the right one")
            .0,
        200
    );
}

#[test]
fn registrations_are_throttled_and_big_bodies_refused_unread() {
    let server = ServerProcess::start(None, &[("GALAXY_AUTH__MAX_REGISTRATIONS_PER_ADDRESS", "3")]);
    for i in 0..3 {
        assert_eq!(server.register(&format!("new{i}"), "a fine password"), 201);
    }
    let refused = server.post(
        "/api/auth/register",
        &json!({"username": "new3", "password": "a fine password"}).to_string(),
        None,
    );
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    // A 2 MB body is refused by its declared size, before it is sent, let alone read.
    for path in [
        "/api/auth/login",
        "/api/auth/register",
        "/api/admin/command",
    ] {
        assert_eq!(server.post_declaring(path, 2 << 20), Ok(413), "{path}");
    }
    let within = server.post_declaring("/api/auth/login", 60);
    assert!(
        within.as_ref().is_err_and(|e| e.contains("no answer")),
        "a body within the limit is waited for: {within:?}"
    );
    assert_eq!(
        server.metric(r#"galaxy_registrations_total{outcome="throttled"}"#),
        1.0
    );
}

#[test]
fn the_admin_cli_refuses_bad_input() {
    let setup = ServerSetup::new(None);
    let ok = setup.create_user("first", "password-1", false);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (name, password, expected) in [
        ("first", "password-2", "taken"),
        ("FIRST", "password-2", "taken"),
        ("x", "password-2", "invalid username"),
        ("second", "short", "invalid password"),
    ] {
        let output = setup.create_user(name, password, true);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}/{password}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{name}/{password}: `{stderr}` lacks `{expected}`"
        );
        assert!(output.stdout.is_empty(), "no id printed on failure");
    }
}

#[test]
fn accounts_on_postgres_and_the_database_going_away() {
    let database = PgDatabase::create();
    let server = admin_server(Some(&database.url));
    check_accounts(&server);
    check_admin_refusals(&server);
    assert_eq!(
        server
            .wait_for("/ready", 200, Duration::from_secs(10))
            .status,
        200
    );

    database
        .drop_now()
        .expect("drop the database under the server");
    let ready = server.wait_for("/ready", 503, Duration::from_secs(10));
    assert_eq!(
        ready.status, 503,
        "ready reports the database: {}",
        ready.body
    );
    assert_eq!(ready.json()["database"], "down", "{}", ready.body);
    assert_eq!(ready.json()["simulation"], "up", "{}", ready.body);
    let (status, body, _) = server.login("alice", "correct horse");
    assert_eq!(status, 503, "login without a database: {body}");
    assert_eq!(server.register("newcomer", "long enough"), 503);
    assert_eq!(server.get("/health").status, 200, "still alive");
    let metrics = server.get("/metrics").body;
    assert!(metrics.contains("galaxy_database_up 0"), "{metrics}");
    assert!(
        series_value(&metrics, "galaxy_db_errors_total") > 0.0,
        "{metrics}"
    );
}
