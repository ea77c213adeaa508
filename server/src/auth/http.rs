//! The HTTP API (axum on the tokio runtime): register, login, health, readiness,
//! metrics, the admin endpoints (command, history, audit log) and the pages around
//! them (the dashboard at `/admin`, the browser client everywhere else).
//!
//! Every handler answers in JSON (`{error}` on failure) and never panics on input:
//! bodies are parsed by hand so bad JSON is a 400 with a message; a database error
//! is a 503 and is counted, never a 500.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bevy::log::{info, warn};
use galaxy_shared::admin::MAX_ADMIN_LINE;
use galaxy_shared::protocol::{PROTOCOL_ID, Role, TokenUserData};
use metrics::{counter, gauge};
use renetcode2::ConnectToken;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::jwt::JwtKeys;
use super::password;
use super::rules::{MAX_PASSWORD, validate_password, validate_username};
use super::throttle::{Limits, Outcome, Source, Throttle, retry_after_secs};
use crate::bridge::{Actor, AdminRequest, Bridge, SAMPLE_INTERVAL_S};
use crate::config::{Config, NetConfig};
use crate::db::{CreateError, Db, DbError, Player};
use crate::secrets::Secrets;
use crate::telemetry;

/// How long the admin endpoint waits for the simulation to answer.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Most audit entries one request returns.
const MAX_AUDIT_ENTRIES: i64 = 500;
/// Connect-token socket id of the UDP transport.
pub const SOCKET_UDP: u8 = 0;
/// Connect-token socket id of the WebSocket transport.
pub const SOCKET_WS: u8 = 1;

/// `POST /api/auth/register` and `/api/auth/login` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// Account name.
    pub username: String,
    /// Password in clear (over TLS in production).
    pub password: String,
}

/// `201` answer to a registration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Registered {
    /// New player id.
    pub player: u64,
    /// Name as registered.
    pub username: String,
}

/// `200` answer to a login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoginReply {
    /// Session JWT for the HTTP API.
    pub token: String,
    /// When the JWT expires (unix s).
    pub expires_at: u64,
    /// Player id.
    pub player: u64,
    /// `player` or `admin`.
    pub role: String,
    /// Base64 netcode connect token for the UDP transport.
    pub connect_token: String,
    /// Base64 netcode connect token for the WebSocket transport.
    pub connect_token_ws: String,
    /// Where native clients send UDP.
    pub udp_addr: String,
    /// Where browser clients connect.
    pub ws_url: String,
}

/// `POST /api/admin/command` body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminLine {
    /// One admin command line.
    pub line: String,
}

/// `200` answer of the admin endpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdminAnswer {
    /// Whether the command ran.
    pub ok: bool,
    /// What it printed, or why it was refused.
    pub output: String,
    /// What `status` and `players` report, as data for scripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// What the handlers share.
struct Api {
    db: Db,
    bridge: Bridge,
    jwt: JwtKeys,
    throttle: Throttle,
    /// Peers whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<ipnet::IpNet>,
    netcode_key: [u8; 32],
    net: NetConfig,
    udp_public: SocketAddr,
    ws_public: SocketAddr,
    ws_url: String,
}

type ApiState = State<Arc<Api>>;

/// Binds `config.net.http_addr`, serves the API on the current tokio runtime and
/// returns the bound address (port 0 picks a free one).
pub async fn start_http(
    config: &Config,
    secrets: &Secrets,
    db: Db,
    bridge: Bridge,
) -> Result<SocketAddr, std::io::Error> {
    let host = config.net.public_host.trim();
    let udp_public = resolve(host, config.net.public_udp_port()).await?;
    let ws_public = ws_public_address(&config.net).await?;
    let trusted_proxies = config
        .auth
        .trusted_proxy_ranges()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    let api = Arc::new(Api {
        db,
        bridge,
        jwt: JwtKeys::new(&secrets.jwt, &config.auth),
        throttle: Throttle::new(Limits::from_config(&config.auth)),
        trusted_proxies,
        netcode_key: secrets.netcode,
        net: config.net.clone(),
        udp_public,
        ws_public,
        ws_url: match config.net.public_ws_url.trim() {
            "" => format!("ws://{}", host_port(host, config.net.ws_addr.port())),
            url => url.to_owned(),
        },
    });
    password::warm_up().await;
    let listener = tokio::net::TcpListener::bind(config.net.http_addr).await?;
    let bound = listener.local_addr()?;
    let app = router(api, config.net.max_http_body_bytes)
        .merge(crate::dashboard::routes())
        .merge(crate::web::routes(&config.web.dir))
        .layer(middleware::from_fn(count_requests));
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, service).await {
            warn!(%error, "HTTP server stopped");
        }
    });
    Ok(bound)
}

fn router(api: Arc<Api>, max_body: usize) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/admin/command", post(admin_command))
        .route("/api/admin/history", get(admin_history))
        .route("/api/admin/audit", get(admin_audit))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            max_body,
            refuse_declared_oversize,
        ))
        .with_state(api)
}

/// `host:port`, bracketing IPv6 literals.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The WebSocket socket's public address, as connect tokens and the socket name it:
/// `net.public_host` at the WebSocket port, or renet2's stand-in `0.0.0.0:0` when
/// `net.public_ws_url` names its host by domain (behind a proxy the browser dials the
/// name, and renet2's client then knows the server only by that stand-in).
pub async fn ws_public_address(net: &NetConfig) -> Result<SocketAddr, std::io::Error> {
    if names_a_domain(&net.public_ws_url) {
        return Ok(SocketAddr::from(([0, 0, 0, 0], 0)));
    }
    resolve(net.public_host.trim(), net.ws_addr.port()).await
}

/// Whether a `ws://`/`wss://` URL's host is a name rather than an IP literal.
fn names_a_domain(url: &str) -> bool {
    let Some((_, rest)) = url.trim().split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.starts_with('[') {
        return false;
    }
    let host = host.split(':').next().unwrap_or("");
    !host.is_empty() && host.parse::<IpAddr>().is_err()
}

/// The address clients should use for `host` (an IP or a name; IPv4 preferred).
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, std::io::Error> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot resolve net.public_host `{host}`: {e}"),
            )
        })?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or(found.first())
        .copied()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("net.public_host `{host}` has no address"),
            )
        })
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// A 429 with the wait in `Retry-After`.
fn too_many(message: &str, wait: Duration) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, message);
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    response
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy. An
/// entry that does not parse ends the walk at the last proxy that was trusted.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|range| range.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','));
    for hop in hops.rev() {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// A JSON body, or a 400 answer saying what is wrong with it.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

impl Api {
    /// A database failure: counted, reported to `/ready`, answered with 503.
    fn db_down(&self, what: &str, failure: &DbError) -> Response {
        counter!(telemetry::DB_ERRORS).increment(1);
        self.bridge.health.set_database_up(false);
        warn!(error = %failure, "{what}: database unavailable");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable, try again later",
        )
    }

    /// A connect token for one transport, base64.
    fn connect_token(
        &self,
        player: &Player,
        socket_id: u8,
        address: SocketAddr,
    ) -> Result<String, String> {
        let user_data = TokenUserData {
            player: player.id,
            name: player.username.clone(),
            role: player.role,
        }
        .to_bytes()
        .map_err(|e| e.to_string())?;
        let token = ConnectToken::generate(
            unix_now(),
            PROTOCOL_ID,
            self.net.token_expire_s,
            player.id,
            self.net.client_timeout_s,
            socket_id,
            vec![address],
            Some(&user_data),
            &self.netcode_key,
        )
        .map_err(|e| format!("{e:?}"))?;
        let mut bytes = Vec::new();
        token.write(&mut bytes).map_err(|e| e.to_string())?;
        Ok(STANDARD.encode(bytes))
    }
}

/// A body that declares more than the limit is refused before a byte of it is read
/// (413 and the connection closed). Bodies without a length are cut off by
/// `DefaultBodyLimit` once they pass it.
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    }
    next.run(request).await
}

/// Counts every request by route (the pattern, never the raw path, so the label set
/// stays small) and status.
async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "static".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(telemetry::HTTP_REQUESTS, "route" => route, "status" => status).increment(1);
    response
}

/// A login or registration outcome, counted.
fn count_login(outcome: &'static str) {
    counter!(telemetry::LOGINS, "outcome" => outcome).increment(1);
}

fn count_registration(outcome: &'static str) {
    counter!(telemetry::REGISTRATIONS, "outcome" => outcome).increment(1);
}

async fn health() -> &'static str {
    "ok"
}

async fn ready(State(api): ApiState) -> Response {
    let database = api.bridge.health.database_up();
    let simulation = api.bridge.health.simulation_up();
    let word = |up: bool| if up { "up" } else { "down" };
    let status = if database && simulation {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({ "database": word(database), "simulation": word(simulation) });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(api): ApiState) -> Response {
    let health = &api.bridge.health;
    gauge!(telemetry::DATABASE_UP).set(telemetry::up(health.database_up()));
    gauge!(telemetry::SIMULATION_UP).set(telemetry::up(health.simulation_up()));
    if let Some(age) = health.snapshot_age_s() {
        gauge!(telemetry::SNAPSHOT_AGE).set(age);
    }
    let text = telemetry::render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn register(
    State(api): ApiState,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credentials: Credentials = match parse(&body) {
        Ok(c) => c,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    if let Err(reason) = validate_username(&credentials.username)
        .and_then(|()| validate_password(&credentials.password))
    {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let source = Source::of(client_address(peer.ip(), &headers, &api.trusted_proxies));
    if let Err(wait) = api.throttle.begin_registration(source, Instant::now()) {
        count_registration("throttled");
        return too_many("too many registrations from this address, try later", wait);
    }
    let hash = match password::hash(credentials.password).await {
        Ok(hash) => hash,
        Err(failure) => {
            warn!(error = %failure, "register: hashing failed");
            return error(StatusCode::SERVICE_UNAVAILABLE, "try again later");
        }
    };
    match api
        .db
        .create_player(&credentials.username, &hash, Role::Player)
        .await
    {
        Ok(player) => {
            count_registration("ok");
            info!(player = player.id, name = %player.username, "player registered");
            let body = Registered {
                player: player.id,
                username: player.username,
            };
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(CreateError::Taken) => {
            count_registration("taken");
            error(StatusCode::CONFLICT, "username is taken")
        }
        Err(CreateError::Db(failure)) => api.db_down("register", &failure),
    }
}

async fn login(
    State(api): ApiState,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credentials: Credentials = match parse(&body) {
        Ok(c) => c,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    let Credentials { username, password } = credentials;
    let address = client_address(peer.ip(), &headers, &api.trusted_proxies);
    // Names that cannot be accounts skip the lookup but still pay for a hash, and
    // count against their source only.
    let plausible_name = validate_username(&username).is_ok();
    let attempt = match api.throttle.begin_login(
        Source::of(address),
        plausible_name.then_some(username.as_str()),
        Instant::now(),
    ) {
        Ok(attempt) => attempt,
        Err(wait) => {
            count_login("throttled");
            return too_many("too many failed logins, try later", wait);
        }
    };
    let player = if plausible_name {
        match api.db.find_player_by_name(&username).await {
            Ok(player) => player,
            Err(failure) => {
                // Not the client's fault: give the reservation back.
                api.throttle
                    .finish_login(attempt, Outcome::NoAccount, Instant::now());
                return api.db_down("login", &failure);
            }
        }
    } else {
        None
    };
    // Overlong passwords are refused before hashing them.
    let verified = if password.chars().take(MAX_PASSWORD + 1).count() > MAX_PASSWORD {
        false
    } else {
        password::verify(password, player.as_ref().map(|p| p.password_hash.clone())).await
    };
    let outcome = match (&player, verified) {
        (Some(_), true) => Outcome::Success,
        (Some(_), false) => Outcome::WrongPassword,
        (None, _) => Outcome::NoAccount,
    };
    api.throttle.finish_login(attempt, outcome, Instant::now());
    let Some(player) = player.filter(|_| verified) else {
        count_login("failed");
        return error(StatusCode::UNAUTHORIZED, "invalid username or password");
    };
    if player.banned {
        count_login("banned");
        return error(StatusCode::FORBIDDEN, "this account is banned");
    }
    match issue_login(&api, &player) {
        Ok(reply) => {
            count_login("ok");
            info!(player = player.id, name = %player.username, %address, "player logged in");
            (StatusCode::OK, axum::Json(reply)).into_response()
        }
        Err(reason) => {
            warn!(%reason, "login: cannot issue tokens");
            error(StatusCode::INTERNAL_SERVER_ERROR, "cannot issue tokens")
        }
    }
}

fn issue_login(api: &Api, player: &Player) -> Result<LoginReply, String> {
    let (token, expires_at) = api
        .jwt
        .issue(
            player.id,
            &player.username,
            player.role,
            unix_now().as_secs(),
        )
        .map_err(|e| e.to_string())?;
    Ok(LoginReply {
        token,
        expires_at,
        player: player.id,
        role: player.role.as_str().to_owned(),
        connect_token: api.connect_token(player, SOCKET_UDP, api.udp_public)?,
        connect_token_ws: api.connect_token(player, SOCKET_WS, api.ws_public)?,
        udp_addr: api.udp_public.to_string(),
        ws_url: api.ws_url.clone(),
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn unauthorized() -> Response {
    let mut response = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The admin behind a request's bearer token, checked against the database now (the
/// role in the token may be stale: a demoted or banned admin loses access at once),
/// or the answer that refuses the request.
async fn require_admin(api: &Api, headers: &HeaderMap) -> Result<Player, Response> {
    let Some(session) = bearer(headers).and_then(|token| api.jwt.verify(token).ok()) else {
        return Err(unauthorized());
    };
    let player = match api.db.find_player(session.player).await {
        Ok(Some(player)) => player,
        Ok(None) => return Err(error(StatusCode::FORBIDDEN, "no such player")),
        Err(failure) => return Err(api.db_down("admin request", &failure)),
    };
    if player.role != Role::Admin || player.banned {
        warn!(player = player.id, name = %player.username, "admin request refused: not an admin");
        return Err(error(StatusCode::FORBIDDEN, "admin role required"));
    }
    Ok(player)
}

/// `GET /api/admin/history`: the last hour of tick time and players, for charts.
async fn admin_history(State(api): ApiState, headers: HeaderMap) -> Response {
    if let Err(refusal) = require_admin(&api, &headers).await {
        return refusal;
    }
    let body = json!({ "interval_s": SAMPLE_INTERVAL_S, "samples": api.bridge.history.samples() });
    axum::Json(body).into_response()
}

/// `GET /api/admin/audit` query.
#[derive(Debug, Deserialize)]
struct AuditQuery {
    /// Most entries to return (1..=500, default 100).
    limit: Option<i64>,
    /// Only entries whose actor, line or answer contain this (any case).
    q: Option<String>,
}

/// `GET /api/admin/audit?limit=&q=`: the audit log, newest first, filtered.
async fn admin_audit(
    State(api): ApiState,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    if let Err(refusal) = require_admin(&api, &headers).await {
        return refusal;
    }
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "query must be limit=<n>&q=<text>");
    };
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_AUDIT_ENTRIES);
    let filter = query.q.unwrap_or_default();
    if filter.len() > MAX_ADMIN_LINE {
        return error(StatusCode::BAD_REQUEST, "filter too long");
    }
    match api.db.recent_audit(limit, &filter).await {
        Ok(entries) => axum::Json(json!({ "entries": entries })).into_response(),
        Err(failure) => api.db_down("audit log", &failure),
    }
}

async fn admin_command(State(api): ApiState, headers: HeaderMap, body: Bytes) -> Response {
    let player = match require_admin(&api, &headers).await {
        Ok(player) => player,
        Err(refusal) => return refusal,
    };
    let AdminLine { line } = match parse(&body) {
        Ok(line) => line,
        Err(reason) => return error(StatusCode::BAD_REQUEST, &reason),
    };
    if line.len() > MAX_ADMIN_LINE {
        return error(StatusCode::BAD_REQUEST, "admin line too long");
    }
    let (reply, answer) = oneshot::channel();
    let request = AdminRequest {
        actor: Actor {
            player: player.id,
            name: player.username.clone(),
            role: player.role,
        },
        line,
        reply,
    };
    if let Err(refused) = api.bridge.admin.try_send(request) {
        let reason = match refused {
            mpsc::error::TrySendError::Full(_) => "admin queue is full, try again",
            mpsc::error::TrySendError::Closed(_) => {
                "the simulation is not accepting admin commands"
            }
        };
        return error(StatusCode::SERVICE_UNAVAILABLE, reason);
    }
    match tokio::time::timeout(ADMIN_TIMEOUT, answer).await {
        Ok(Ok(reply)) => {
            let body = AdminAnswer {
                ok: reply.ok,
                output: reply.output,
                data: reply.data,
            };
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Ok(Err(_)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation dropped the command",
        ),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation did not answer in time",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def"),
        );
        assert_eq!(bearer(&headers), Some("abc.def"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  xyz"),
        );
        assert_eq!(bearer(&headers), Some("xyz"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg=="),
        );
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = ["127.0.0.1/32", "10.0.0.0/8"]
            .iter()
            .map(|r| r.parse().expect("range"))
            .collect();
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9, 10.1.2.3"),
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers, &trusted),
            ip("203.0.113.9"),
            "the nearest untrusted hop, not the spoofable leftmost one"
        );
        assert_eq!(
            client_address(ip("192.0.2.1"), &headers, &trusted),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            client_address(ip("::ffff:192.0.2.1"), &headers, &trusted),
            ip("192.0.2.1")
        );
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("junk, 10.0.0.2"),
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &headers, &trusted),
            ip("10.0.0.2"),
            "an unparsable hop ends the walk at the last trusted proxy"
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &HeaderMap::new(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(host_port("::1", 5001), "[::1]:5001");
        assert_eq!(host_port("game.example", 5001), "game.example:5001");
    }

    #[test]
    fn only_named_websocket_hosts_need_renets_stand_in_address() {
        assert!(names_a_domain("wss://galaxy.example/ws"));
        assert!(names_a_domain("wss://galaxy.example:8443"));
        assert!(!names_a_domain("ws://127.0.0.1:5001"));
        assert!(!names_a_domain("wss://[::1]:443/ws"));
        assert!(!names_a_domain(""), "no URL: ws://public_host:port");
    }

    #[tokio::test]
    async fn public_hosts_resolve_to_addresses() {
        assert_eq!(
            resolve("127.0.0.1", 5000).await.expect("ip"),
            "127.0.0.1:5000".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(resolve("[::1]", 7).await.expect("ipv6").port(), 7);
        let local = resolve("localhost", 5001)
            .await
            .expect("localhost resolves");
        assert!(local.ip().is_loopback() && local.port() == 5001, "{local}");
    }
}
