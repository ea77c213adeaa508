//! A real `galaxy-server run` on loopback for end-to-end tests: its own temp dir,
//! database, free ports and log file; HTTP helpers that return status and body
//! instead of failing on non-2xx; and throwaway PostgreSQL databases.

use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::server_command;

/// The JWT secret test servers sign with (40 characters).
pub const TEST_JWT_SECRET: &str = "galaxy-e2e-test-secret-0123456789abcdefg";

/// How long a server may take to answer `/health`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A temp directory removed on drop (kept, and named, when the test failed).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory under the system temp dir.
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&path).expect("the temp dir is writable");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("keeping {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A port nobody listens on right now (bound, read, released).
pub fn free_tcp_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("bound").port()
}

/// A UDP port nobody uses right now.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind loopback");
    socket.local_addr().expect("bound").port()
}

/// A server's database and directory before the server runs, so the CLI can
/// prepare accounts in it first.
#[derive(Debug)]
pub struct ServerSetup {
    dir: TempDir,
    /// The `DATABASE_URL` the server will use.
    pub database_url: String,
}

impl ServerSetup {
    /// A temp dir and a database: `database_url`, or SQLite in the temp dir.
    pub fn new(database_url: Option<&str>) -> Self {
        let dir = TempDir::new("galaxy-e2e");
        let database_url = database_url.map_or_else(
            || format!("sqlite://{}/galaxy.db", dir.path().display()),
            str::to_owned,
        );
        Self { dir, database_url }
    }

    /// Runs `galaxy-server admin create-user NAME [--admin]` with the password in
    /// `GALAXY_ADMIN_PASSWORD` against this database.
    pub fn create_user(&self, name: &str, password: &str, admin: bool) -> Output {
        let mut command = server_command();
        command
            .args(["admin", "create-user", name])
            .env("DATABASE_URL", &self.database_url)
            .env("GALAXY_ADMIN_PASSWORD", password)
            .stdin(Stdio::null());
        if admin {
            command.arg("--admin");
        }
        command.output().expect("galaxy-server starts")
    }

    /// Creates an admin account with the CLI, which must succeed; returns its id.
    pub fn create_admin(&self, name: &str, password: &str) -> u64 {
        let created = self.create_user(name, password, true);
        assert!(
            created.status.success(),
            "admin create-user failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        String::from_utf8_lossy(&created.stdout)
            .trim()
            .parse()
            .expect("create-user prints the new player id")
    }

    /// Starts `galaxy-server run` on free loopback ports and waits for `/health`.
    pub fn start(self, extra_env: &[(&str, &str)]) -> ServerProcess {
        let http_addr = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
        let udp_addr = SocketAddr::from(([127, 0, 0, 1], free_udp_port()));
        let ws_addr = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
        let log_path = self.dir.path().join("server.log");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = server_command();
        command
            .arg("run")
            .env("DATABASE_URL", &self.database_url)
            .env("GALAXY_HTTP_ADDR", http_addr.to_string())
            .env("GALAXY_UDP_ADDR", udp_addr.to_string())
            .env("GALAXY_WS_ADDR", ws_addr.to_string())
            .env("GALAXY_PUBLIC_HOST", "127.0.0.1")
            .env("GALAXY_JWT_SECRET", TEST_JWT_SECRET)
            .env("NO_COLOR", "1")
            // Every test player registers from 127.0.0.1.
            .env("GALAXY_AUTH__MAX_REGISTRATIONS_PER_ADDRESS", "10000")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log);
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command.spawn().expect("galaxy-server starts");
        let mut server = ServerProcess {
            child,
            http_addr,
            udp_addr,
            ws_addr,
            database_url: self.database_url,
            log_path,
            _dir: self.dir,
        };
        server.wait_healthy();
        server
    }
}

/// A running `galaxy-server`, killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    http_addr: SocketAddr,
    /// Native game traffic.
    pub udp_addr: SocketAddr,
    /// Browser game traffic.
    pub ws_addr: SocketAddr,
    /// The database it uses.
    pub database_url: String,
    log_path: PathBuf,
    _dir: TempDir,
}

/// An HTTP answer: status, body and headers.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// Headers.
    pub headers: ureq::http::HeaderMap,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.expect("the HTTP request reaches the server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        body,
        headers,
    }
}

impl ServerProcess {
    /// Starts a server on `database_url` (SQLite in a temp dir when `None`).
    pub fn start(database_url: Option<&str>, extra_env: &[(&str, &str)]) -> Self {
        ServerSetup::new(database_url).start(extra_env)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Everything the server printed so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.log_path) {
            let _ = file.seek(SeekFrom::Start(0));
            let _ = file.read_to_string(&mut text);
        }
        text
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn wait_healthy(&mut self) {
        let started = Instant::now();
        let agent = agent();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "galaxy-server exited with {status} before it was healthy:\n{}",
                    self.log_tail()
                );
            }
            let url = format!("{}/health", self.http_url());
            if agent.get(&url).call().is_ok_and(|r| r.status() == 200) {
                return;
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "galaxy-server not healthy after {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET path`, or why it did not reach the server.
    pub fn try_get(&self, path: &str) -> Result<Reply, String> {
        let result = agent().get(&format!("{}{path}", self.http_url())).call();
        match result {
            Ok(_) => Ok(reply(result)),
            Err(error) => Err(error.to_string()),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    /// The value of one series at `/metrics` (`galaxy_logins_total{outcome="ok"}`, or
    /// a bare name), 0 when the server has not recorded it yet, as Prometheus reads
    /// an absent counter.
    pub fn metric(&self, series: &str) -> f64 {
        series_value(&self.get("/metrics").body, series)
    }

    /// The sum of every series of metric `name`, whatever their labels.
    pub fn metric_sum(&self, name: &str) -> f64 {
        let text = self.get("/metrics").body;
        text.lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// `GET path` with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = agent().get(&format!("{}{path}", self.http_url()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.call())
    }

    /// `POST path` with a raw body and an optional bearer token.
    pub fn post(&self, path: &str, body: &str, bearer: Option<&str>) -> Reply {
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        self.post_with(path, body, &headers)
    }

    /// `POST path` with a raw body and extra headers.
    pub fn post_with(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = agent()
            .post(&format!("{}{path}", self.http_url()))
            .header("Content-Type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send(body))
    }

    /// Starts a `POST path` that declares a `declared`-byte JSON body but sends only
    /// its first bytes, and returns the status the server answers with before the
    /// rest arrives (a server that waits for the whole body answers nothing).
    pub fn post_declaring(&self, path: &str, declared: usize) -> Result<u16, String> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.http_addr).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {declared}\r\n\r\n{{\"username\":\"aaaaaaaa",
            self.http_addr
        )
        .map_err(|e| e.to_string())?;
        let mut head = [0u8; 12];
        stream
            .read_exact(&mut head)
            .map_err(|e| format!("no answer before the body was sent: {e}"))?;
        let status = std::str::from_utf8(&head[9..12]).map_err(|e| e.to_string())?;
        status
            .parse()
            .map_err(|e| format!("status `{status}`: {e}"))
    }

    /// Logs in as if through a proxy that saw the client at `client` (the server
    /// must trust 127.0.0.1 as a proxy); returns the status and `Retry-After`.
    pub fn login_from(&self, client: &str, name: &str, password: &str) -> (u16, Option<u64>) {
        let body = serde_json::json!({ "username": name, "password": password });
        let reply = self.post_with(
            "/api/auth/login",
            &body.to_string(),
            &[("X-Forwarded-For", client)],
        );
        let retry = reply.header("retry-after").and_then(|v| v.parse().ok());
        (reply.status, retry)
    }

    /// Registers an account; returns the status.
    pub fn register(&self, name: &str, password: &str) -> u16 {
        let body = serde_json::json!({ "username": name, "password": password });
        self.post("/api/auth/register", &body.to_string(), None)
            .status
    }

    /// Logs in; returns status, JSON body and headers.
    pub fn login(
        &self,
        name: &str,
        password: &str,
    ) -> (u16, serde_json::Value, ureq::http::HeaderMap) {
        let body = serde_json::json!({ "username": name, "password": password });
        let reply = self.post("/api/auth/login", &body.to_string(), None);
        let json = reply.json();
        (reply.status, json, reply.headers)
    }

    /// Polls `GET path` until it answers `status` or `timeout` passes; returns the last reply.
    pub fn wait_for(&self, path: &str, status: u16, timeout: Duration) -> Reply {
        let started = Instant::now();
        loop {
            let reply = self.get(path);
            if reply.status == status || started.elapsed() > timeout {
                return reply;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl ServerProcess {
    /// Sends SIGTERM (a clean stop) and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if started.elapsed() > timeout {
                panic!(
                    "galaxy-server did not stop within {timeout:?} of SIGTERM:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL now (a crash), and waits until the process is gone.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- galaxy-server log tail ---\n{}", self.log_tail());
        }
    }
}

/// The PostgreSQL server tests use: `GALAXY_TEST_POSTGRES_URL`, by default the
/// local one `scripts/ensure-postgres.sh` starts.
pub fn postgres_admin_url() -> String {
    std::env::var("GALAXY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A database of its own on the test PostgreSQL server, dropped on drop.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// URL of the new database.
    pub url: String,
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

async fn execute(admin_url: &str, sql: &str) -> Result<(), sqlx::Error> {
    let mut connection = PgConnection::connect(admin_url).await?;
    sqlx::raw_sql(sql).execute(&mut connection).await?;
    connection.close().await
}

impl PgDatabase {
    /// Creates `galaxy_test_<random>`; panics with a hint when PostgreSQL is down.
    pub fn create() -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("galaxy_test_{:016x}", fastrand::u64(..));
        if let Err(error) = block_on(execute(&admin_url, &format!("CREATE DATABASE {name}"))) {
            panic!(
                "cannot create a test database on {admin_url} ({error}); \
                 start PostgreSQL with scripts/ensure-postgres.sh or set GALAXY_TEST_POSTGRES_URL"
            );
        }
        let url = with_database(&admin_url, &name);
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Drops the database now, disconnecting everyone (the server loses it).
    pub fn drop_now(&self) -> Result<(), String> {
        block_on(execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        ))
        .map_err(|e| e.to_string())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Err(error) = self.drop_now() {
            eprintln!("cannot drop test database {}: {error}", self.name);
        }
    }
}

/// The value of `series` in a Prometheus text exposition, 0 when it is absent.
pub fn series_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
