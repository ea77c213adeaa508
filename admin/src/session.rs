//! The HTTP side: logging in, the session token cached per server and user, and
//! the admin endpoint.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a line did not run.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server said no: not an admin, wrong password, banned, throttled, bad line.
    Refused(String),
    /// The server broke: an error status or an answer that is not understood.
    Failed(String),
    /// Nothing answered at the address.
    Unreachable(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) => write!(f, "refused: {why}"),
            Self::Failed(why) => write!(f, "failed: {why}"),
            Self::Unreachable(why) => write!(f, "unreachable: {why}"),
        }
    }
}

/// A cached session token.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Cached {
    token: String,
    /// Unix seconds.
    expires_at: u64,
}

/// A token is not used this close to its expiry.
const EXPIRY_MARGIN_S: u64 = 30;

/// One server and one admin account.
pub(crate) struct Client {
    server: String,
    user: String,
    agent: ureq::Agent,
    cache: Option<PathBuf>,
}

/// What the admin endpoint answered.
enum Answer {
    Done(Value),
    /// The token is no longer accepted (expired, or the server's secret changed).
    Unauthorized,
}

impl Client {
    pub(crate) fn new(server: &str, user: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .new_agent();
        Self {
            server: server.to_owned(),
            user: user.to_owned(),
            agent,
            cache: cache_path(),
        }
    }

    /// Runs `line` with the cached token, logging in when there is none or it is
    /// no longer accepted.
    pub(crate) fn run(&mut self, line: &str) -> Result<Value, Failure> {
        if let Some(token) = self.cached_token() {
            match self.command(&token, line)? {
                Answer::Done(answer) => return Ok(answer),
                Answer::Unauthorized => self.forget(),
            }
        }
        let token = self.log_in()?;
        match self.command(&token, line)? {
            Answer::Done(answer) => Ok(answer),
            Answer::Unauthorized => Err(Failure::Refused(
                "the server does not accept the session it just issued".into(),
            )),
        }
    }

    /// Drops the cached session for this server and user.
    pub(crate) fn forget(&mut self) {
        let mut sessions = self.sessions();
        if sessions.remove(&self.key()).is_some() {
            self.save(&sessions);
        }
    }

    fn command(&self, token: &str, line: &str) -> Result<Answer, Failure> {
        let (status, body) = self.post(
            "/api/admin/command",
            &serde_json::json!({ "line": line }),
            Some(token),
        )?;
        match status {
            200 => {
                let answer: Value = serde_json::from_str(&body)
                    .map_err(|e| Failure::Failed(format!("the answer is not JSON: {e}")))?;
                if answer["ok"].is_boolean() && answer["output"].is_string() {
                    Ok(Answer::Done(answer))
                } else {
                    Err(Failure::Failed(format!(
                        "the answer is not understood: {body}"
                    )))
                }
            }
            401 => Ok(Answer::Unauthorized),
            400 | 403 | 429 => Err(Failure::Refused(error_text(&body, status))),
            _ => Err(Failure::Failed(error_text(&body, status))),
        }
    }

    fn log_in(&mut self) -> Result<String, Failure> {
        let password = match std::env::var("GALAXY_ADMIN_PASSWORD") {
            Ok(password) => password,
            Err(_) => rpassword::prompt_password(format!(
                "password for {} at {}: ",
                self.user, self.server
            ))
            .map_err(|e| {
                Failure::Refused(format!(
                    "no password: set GALAXY_ADMIN_PASSWORD or run in a terminal ({e})"
                ))
            })?,
        };
        let (status, body) = self.post(
            "/api/auth/login",
            &serde_json::json!({ "username": self.user, "password": password }),
            None,
        )?;
        match status {
            200 => {}
            401 => return Err(Failure::Refused("wrong username or password".into())),
            400 | 403 | 429 => return Err(Failure::Refused(error_text(&body, status))),
            _ => return Err(Failure::Failed(error_text(&body, status))),
        }
        #[derive(Deserialize)]
        struct LoginReply {
            token: String,
            expires_at: u64,
            role: String,
        }
        let reply: LoginReply = serde_json::from_str(&body)
            .map_err(|e| Failure::Failed(format!("the login reply is not understood: {e}")))?;
        if reply.role != "admin" {
            return Err(Failure::Refused(format!("{} is not an admin", self.user)));
        }
        let mut sessions = self.sessions();
        sessions.insert(
            self.key(),
            Cached {
                token: reply.token.clone(),
                expires_at: reply.expires_at,
            },
        );
        self.save(&sessions);
        Ok(reply.token)
    }

    fn post(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Result<(u16, String), Failure> {
        let url = format!("{}{path}", self.server);
        let mut request = self.agent.post(&url);
        if let Some(token) = token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| Failure::Unreachable(format!("{}: {e}", self.server)))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Failure::Failed(format!("reading the answer: {e}")))?;
        Ok((status, text))
    }

    fn key(&self) -> String {
        format!("{}@{}", self.user, self.server)
    }

    fn cached_token(&self) -> Option<String> {
        let now = unix_now();
        self.sessions()
            .get(&self.key())
            .filter(|c| c.expires_at > now + EXPIRY_MARGIN_S)
            .map(|c| c.token.clone())
    }

    /// The cache file's sessions; a missing or unreadable file is an empty cache.
    fn sessions(&self) -> BTreeMap<String, Cached> {
        self.cache
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Writes the cache readable by its owner only; a cache that cannot be written
    /// only costs a login next time.
    fn save(&self, sessions: &BTreeMap<String, Cached>) {
        let Some(path) = &self.cache else {
            return;
        };
        if let Err(e) = write_private(
            path,
            &serde_json::to_vec_pretty(sessions).unwrap_or_default(),
        ) {
            eprintln!(
                "galaxy-admin: cannot cache the session in {}: {e}",
                path.display()
            );
        }
    }
}

/// `$XDG_CONFIG_HOME/galaxy/admin-sessions.json`, else under `~/.config`.
fn cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("galaxy").join("admin-sessions.json"))
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = path.with_extension("json.partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(partial, path)
}

/// The `error` of an error body, or the status when there is none.
fn error_text(body: &str, status: u16) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP {status}"))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
