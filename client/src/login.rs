//! The login screen: server address, username and password fields, Log in and
//! Register buttons, and errors in words a player understands. Scripted
//! credentials (flags or `GALAXY_*` variables) press Log in by themselves.

use base64::Engine;
use bevy::input::ButtonState;
use bevy::input::keyboard::{Key, KeyboardInput};
use bevy::prelude::*;
use bevy::tasks::{IoTaskPool, Task, block_on, poll_once};
use serde::Deserialize;

use crate::Screen;
use crate::options::LaunchOptions;
use crate::warmup::Warmup;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LoginForm>();
    app.add_systems(
        OnEnter(Screen::Login),
        (fill_form, spawn_login_screen).chain(),
    );
    app.add_systems(
        Update,
        (
            // Once logged in, the form only waits for the warm-up.
            (
                focus_clicked_fields,
                type_into_fields,
                press_buttons,
                start_scripted_login,
            )
                .chain()
                .run_if(not(resource_exists::<LoggedIn>)),
            finish_login,
            enter_flight,
            show_form,
        )
            .chain()
            .run_if(in_state(Screen::Login)),
    );
}

/// What the player typed, which field has the keyboard, and how the last try went.
#[derive(Resource, Default)]
struct LoginForm {
    fields: [String; 3],
    focus: Focus,
    status: String,
    scripted: bool,
}

/// The three text fields, in tab order.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Field {
    /// Server HTTP address.
    Server,
    /// Username.
    #[default]
    Username,
    /// Password (shown masked).
    Password,
}

impl Field {
    fn index(self) -> usize {
        self as usize
    }
}

/// The login screen's buttons.
#[derive(Component, Clone, Copy, Debug, PartialEq, Eq)]
enum LoginButton {
    /// Log in with an existing account.
    LogIn,
    /// Create the account, then log in.
    Register,
}

/// What has the keyboard: a field takes typing, a button takes Enter, so the whole
/// form works without a mouse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Focus {
    Field(Field),
    Button(LoginButton),
}

impl Default for Focus {
    fn default() -> Self {
        Self::Field(Field::default())
    }
}

impl Focus {
    /// Tab order.
    const ORDER: [Self; 5] = [
        Self::Field(Field::Server),
        Self::Field(Field::Username),
        Self::Field(Field::Password),
        Self::Button(LoginButton::LogIn),
        Self::Button(LoginButton::Register),
    ];

    fn next(self) -> Self {
        let index = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(index + 1) % Self::ORDER.len()]
    }
}

/// The text showing the form's status or error.
#[derive(Component)]
struct StatusText;

/// The login in flight, answered off the main thread.
#[derive(Resource)]
struct PendingLogin(Task<Result<LoggedIn, String>>);

/// A successful login: what the game connection needs.
#[derive(Resource, Clone, Debug)]
pub(crate) struct LoggedIn {
    /// Username.
    pub name: String,
    /// `player` or `admin`.
    pub role: String,
    /// The netcode connect token for this platform's socket (decoded from base64):
    /// UDP natively, WebSocket in the browser, which has no UDP.
    pub connect_token: Vec<u8>,
    /// Where the server's WebSocket socket listens, e.g. `ws://127.0.0.1:5001`.
    #[cfg(target_arch = "wasm32")]
    pub ws_url: String,
}

/// What `/api/auth/login` answers (the fields this platform uses).
#[derive(Deserialize)]
struct LoginReply {
    role: String,
    #[cfg(not(target_arch = "wasm32"))]
    connect_token: String,
    #[cfg(target_arch = "wasm32")]
    connect_token_ws: String,
    #[cfg(target_arch = "wasm32")]
    ws_url: String,
}

/// The error body every failing endpoint returns.
#[derive(Deserialize)]
struct ErrorReply {
    error: String,
}

fn fill_form(mut form: ResMut<LoginForm>, options: Res<LaunchOptions>) {
    form.fields[Field::Server.index()] = options.server.clone();
    form.fields[Field::Username.index()] = options.user.clone().unwrap_or_default();
    form.fields[Field::Password.index()] = options.password.clone().unwrap_or_default();
    form.scripted = options.scripted_login().is_some();
}

fn spawn_login_screen(mut commands: Commands) {
    let label = |text: &str| {
        (
            Text::new(text),
            TextFont::from_font_size(16.0),
            TextColor(Color::srgb(0.7, 0.75, 0.85)),
        )
    };
    let field = |field: Field| {
        (
            field,
            Button,
            Node {
                width: Val::Px(360.0),
                padding: UiRect::all(Val::Px(8.0)),
                border: UiRect::all(Val::Px(2.0)),
                margin: UiRect::bottom(Val::Px(10.0)),
                ..default()
            },
            BorderColor::all(UNFOCUSED),
            BackgroundColor(Color::srgb(0.06, 0.07, 0.1)),
            children![(Text::new(""), TextFont::from_font_size(18.0))],
        )
    };
    let button = |kind: LoginButton, text: &str| {
        (
            kind,
            Button,
            Node {
                padding: UiRect::axes(Val::Px(18.0), Val::Px(8.0)),
                margin: UiRect::right(Val::Px(12.0)),
                border: UiRect::all(Val::Px(2.0)),
                ..default()
            },
            BorderColor::all(UNFOCUSED),
            BackgroundColor(Color::srgb(0.2, 0.35, 0.6)),
            children![(Text::new(text), TextFont::from_font_size(18.0))],
        )
    };
    commands.spawn((
        Name::new("Login screen"),
        DespawnOnExit(Screen::Login),
        Camera2d,
    ));
    commands.spawn((
        Name::new("Login form"),
        DespawnOnExit(Screen::Login),
        Node {
            width: Val::Percent(100.0),
            height: Val::Percent(100.0),
            flex_direction: FlexDirection::Column,
            align_items: AlignItems::Center,
            justify_content: JustifyContent::Center,
            ..default()
        },
        BackgroundColor(Color::srgb(0.01, 0.01, 0.03)),
        children![
            (Text::new("GALAXY"), TextFont::from_font_size(48.0)),
            (
                Node {
                    flex_direction: FlexDirection::Column,
                    margin: UiRect::top(Val::Px(24.0)),
                    ..default()
                },
                children![
                    label("Server"),
                    field(Field::Server),
                    label("Username"),
                    field(Field::Username),
                    label("Password"),
                    field(Field::Password),
                    (
                        Node {
                            flex_direction: FlexDirection::Row,
                            margin: UiRect::top(Val::Px(8.0)),
                            ..default()
                        },
                        children![
                            button(LoginButton::LogIn, "Log in"),
                            button(LoginButton::Register, "Register"),
                        ],
                    ),
                    (
                        StatusText,
                        Text::new(""),
                        TextFont::from_font_size(16.0),
                        TextColor(Color::srgb(1.0, 0.55, 0.45)),
                        Node {
                            margin: UiRect::top(Val::Px(14.0)),
                            max_width: Val::Px(360.0),
                            ..default()
                        },
                    ),
                ],
            ),
            (
                Text::new("Tab moves through the fields and buttons, Enter logs in"),
                TextFont::from_font_size(14.0),
                TextColor(Color::srgb(0.45, 0.5, 0.6)),
                Node {
                    margin: UiRect::top(Val::Px(24.0)),
                    ..default()
                },
            ),
        ],
    ));
}

fn focus_clicked_fields(
    fields: Query<(&Interaction, &Field), Changed<Interaction>>,
    mut form: ResMut<LoginForm>,
) {
    for (interaction, field) in &fields {
        if *interaction == Interaction::Pressed {
            form.focus = Focus::Field(*field);
        }
    }
}

fn type_into_fields(
    mut commands: Commands,
    mut keys: MessageReader<KeyboardInput>,
    mut form: ResMut<LoginForm>,
    pending: Option<Res<PendingLogin>>,
) {
    for key in keys.read() {
        if key.state != ButtonState::Pressed {
            continue;
        }
        let focus = form.focus;
        match (&key.logical_key, focus) {
            (Key::Tab, _) => form.focus = focus.next(),
            (Key::Enter, _) => {
                if pending.is_none() {
                    let register = focus == Focus::Button(LoginButton::Register);
                    start_login(&mut commands, &mut form, register);
                }
            }
            (Key::Backspace, Focus::Field(field)) => {
                form.fields[field.index()].pop();
            }
            (_, Focus::Field(field)) => {
                if let Some(text) = &key.text {
                    let printable = text.chars().filter(|c| !c.is_control());
                    form.fields[field.index()].extend(printable);
                }
            }
            (_, Focus::Button(_)) => {}
        }
    }
}

fn press_buttons(
    mut commands: Commands,
    buttons: Query<(&Interaction, &LoginButton), Changed<Interaction>>,
    mut form: ResMut<LoginForm>,
    pending: Option<Res<PendingLogin>>,
) {
    for (interaction, button) in &buttons {
        if *interaction == Interaction::Pressed && pending.is_none() {
            start_login(&mut commands, &mut form, *button == LoginButton::Register);
        }
    }
}

fn start_scripted_login(
    mut commands: Commands,
    mut form: ResMut<LoginForm>,
    options: Res<LaunchOptions>,
) {
    if form.scripted {
        form.scripted = false;
        start_login(&mut commands, &mut form, options.register);
    }
}

/// Sends the login (after a registration when asked) off the main thread.
fn start_login(commands: &mut Commands, form: &mut LoginForm, register: bool) {
    let [server, name, password] = form.fields.clone();
    let server = server.trim().trim_end_matches('/').to_owned();
    if server.is_empty() || name.is_empty() || password.is_empty() {
        form.status = "enter the server, a username and a password".into();
        return;
    }
    form.status = format!("logging in to {server}...");
    let task =
        IoTaskPool::get().spawn(async move { log_in(&server, &name, &password, register).await });
    commands.insert_resource(PendingLogin(task));
}

fn finish_login(
    mut commands: Commands,
    pending: Option<ResMut<PendingLogin>>,
    mut form: ResMut<LoginForm>,
    options: Res<LaunchOptions>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mut pending) = pending else {
        return;
    };
    let Some(result) = block_on(poll_once(&mut pending.0)) else {
        return;
    };
    commands.remove_resource::<PendingLogin>();
    match result {
        Ok(logged_in) => {
            info!("logged in as {} ({})", logged_in.name, logged_in.role);
            commands.insert_resource(logged_in);
            form.status = "preparing the graphics...".into();
        }
        Err(message) => {
            warn!("login failed: {message}");
            // Nobody is there to read the form and try again.
            if options.unattended() {
                exit.write(AppExit::error());
            }
            form.status = message;
        }
    }
}

/// Goes on to the flight once logged in and the shaders are warm (see
/// [`crate::warmup`]).
fn enter_flight(
    logged_in: Option<Res<LoggedIn>>,
    warmup: Res<Warmup>,
    mut next: ResMut<NextState<Screen>>,
) {
    if logged_in.is_some() && warmup.ready {
        next.set(Screen::Flight);
    }
}

fn show_form(
    form: Res<LoginForm>,
    fields: Query<(&Field, &Children, &mut BorderColor)>,
    mut buttons: Query<(&LoginButton, &mut BorderColor), Without<Field>>,
    mut texts: Query<&mut Text, Without<StatusText>>,
    mut status: Single<&mut Text, With<StatusText>>,
    time: Res<Time>,
) {
    let caret = if time.elapsed_secs().fract() < 0.5 {
        "|"
    } else {
        " "
    };
    for (field, children, mut border) in fields {
        let value = &form.fields[field.index()];
        let shown = if *field == Field::Password {
            "*".repeat(value.chars().count())
        } else {
            value.clone()
        };
        let focused = Focus::Field(*field) == form.focus;
        *border = BorderColor::all(if focused { FOCUSED } else { UNFOCUSED });
        if let Some(mut text) = children.first().and_then(|c| texts.get_mut(*c).ok()) {
            text.0 = if focused {
                format!("{shown}{caret}")
            } else {
                shown
            };
        }
    }
    for (button, mut border) in &mut buttons {
        let focused = Focus::Button(*button) == form.focus;
        *border = BorderColor::all(if focused { FOCUSED } else { UNFOCUSED });
    }
    status.0.clone_from(&form.status);
}

/// Borders of the control with the keyboard and of the others.
const FOCUSED: Color = Color::srgb(0.45, 0.65, 1.0);
const UNFOCUSED: Color = Color::srgb(0.3, 0.35, 0.45);

/// Words for a failed login or registration, from the HTTP status, the server's
/// error body and its `Retry-After`.
fn describe_failure(action: &str, status: u16, body: &str, retry_after: Option<&str>) -> String {
    let detail = serde_json::from_str::<ErrorReply>(body)
        .map(|e| e.error)
        .unwrap_or_default();
    match status {
        401 => "wrong username or password".into(),
        403 => format!("{action} refused: {}", or(&detail, "forbidden")),
        409 => "that username is taken; log in instead".into(),
        429 => match retry_after {
            Some(seconds) => format!("too many attempts; try again in {seconds} s"),
            None => "too many attempts; try again later".into(),
        },
        400 => format!("{action} refused: {}", or(&detail, "bad request")),
        503 => format!(
            "the server is not ready ({}); try again soon",
            or(&detail, "unavailable")
        ),
        _ => format!("{action} failed: HTTP {status} {detail}"),
    }
}

fn or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

/// Turns a login reply body into what the connection needs.
fn parse_login(name: &str, body: &str) -> Result<LoggedIn, String> {
    let reply: LoginReply = serde_json::from_str(body)
        .map_err(|e| format!("the server's login reply is not understood: {e}"))?;
    #[cfg(not(target_arch = "wasm32"))]
    let token = &reply.connect_token;
    #[cfg(target_arch = "wasm32")]
    let token = &reply.connect_token_ws;
    let connect_token = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|e| format!("the server's connect token is not base64: {e}"))?;
    Ok(LoggedIn {
        name: name.to_owned(),
        role: reply.role,
        connect_token,
        #[cfg(target_arch = "wasm32")]
        ws_url: reply.ws_url,
    })
}

/// Registers first when asked (an existing account is fine), then logs in.
async fn log_in(
    server: &str,
    name: &str,
    password: &str,
    register: bool,
) -> Result<LoggedIn, String> {
    if register {
        let reply = http::post(server, "/api/auth/register", name, password).await?;
        if !matches!(reply.status, 201 | 409) {
            return Err(reply.describe_failure("registration"));
        }
    }
    let reply = http::post(server, "/api/auth/login", name, password).await?;
    if reply.status != 200 {
        return Err(reply.describe_failure("login"));
    }
    parse_login(name, &reply.body)
}

/// An HTTP answer, whichever way it was fetched.
struct Reply {
    status: u16,
    body: String,
    retry_after: Option<String>,
}

impl Reply {
    fn describe_failure(&self, action: &str) -> String {
        describe_failure(action, self.status, &self.body, self.retry_after.as_deref())
    }
}

/// Blocking HTTP on the I/O pool's thread.
#[cfg(not(target_arch = "wasm32"))]
mod http {
    use super::Reply;

    pub(super) async fn post(
        server: &str,
        path: &str,
        name: &str,
        password: &str,
    ) -> Result<Reply, String> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(15)))
            .build()
            .new_agent();
        let mut response = agent
            .post(&format!("{server}{path}"))
            .send_json(serde_json::json!({ "username": name, "password": password }))
            .map_err(|e| format!("cannot reach {server}: {e}"))?;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("reading the reply from {server}: {e}"))?;
        Ok(Reply {
            status: response.status().as_u16(),
            body,
            retry_after,
        })
    }
}

/// The browser's `fetch`.
#[cfg(target_arch = "wasm32")]
mod http {
    use super::Reply;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn words(error: JsValue) -> String {
        error
            .as_string()
            .or_else(|| {
                error
                    .dyn_ref::<js_sys::Error>()
                    .map(|e| String::from(e.message()))
            })
            .unwrap_or_else(|| format!("{error:?}"))
    }

    pub(super) async fn post(
        server: &str,
        path: &str,
        name: &str,
        password: &str,
    ) -> Result<Reply, String> {
        let unreachable = |e: JsValue| format!("cannot reach {server}: {}", words(e));
        let headers = web_sys::Headers::new().map_err(words)?;
        headers
            .set("content-type", "application/json")
            .map_err(words)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        let body = serde_json::json!({ "username": name, "password": password }).to_string();
        init.set_body(&JsValue::from_str(&body));
        let request = web_sys::Request::new_with_str_and_init(&format!("{server}{path}"), &init)
            .map_err(unreachable)?;
        let window = web_sys::window().ok_or("no browser window")?;
        let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(unreachable)?
            .dyn_into()
            .map_err(words)?;
        let retry_after = response.headers().get("retry-after").ok().flatten();
        let text = JsFuture::from(response.text().map_err(words)?)
            .await
            .map_err(unreachable)?;
        Ok(Reply {
            status: response.status(),
            body: text.as_string().unwrap_or_default(),
            retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_walks_the_fields_then_the_buttons_and_wraps() {
        let mut focus = Focus::default();
        let mut seen = vec![focus];
        for _ in 0..5 {
            focus = focus.next();
            seen.push(focus);
        }
        assert_eq!(seen[0], Focus::Field(Field::Username));
        assert_eq!(seen[2], Focus::Button(LoginButton::LogIn));
        assert_eq!(seen[3], Focus::Button(LoginButton::Register));
        assert_eq!(seen[4], Focus::Field(Field::Server));
        assert_eq!(seen[5], Focus::Field(Field::Username), "wraps around");
    }

    #[test]
    fn failures_read_as_advice() {
        assert_eq!(
            describe_failure(
                "login",
                401,
                r#"{"error":"invalid username or password"}"#,
                None
            ),
            "wrong username or password"
        );
        assert_eq!(
            describe_failure("login", 429, "", Some("12")),
            "too many attempts; try again in 12 s"
        );
        assert_eq!(
            describe_failure(
                "registration",
                400,
                r#"{"error":"password too short"}"#,
                None
            ),
            "registration refused: password too short"
        );
        assert!(describe_failure("login", 503, "", None).contains("not ready"));
    }

    #[test]
    fn a_login_reply_yields_the_decoded_connect_token() {
        let body = r#"{"token":"jwt","role":"admin","connect_token":"AAEC","connect_token_ws":"AwQ=","ws_url":"ws://127.0.0.1:5001","player":1}"#;
        let logged_in = parse_login("ada", body).expect("a valid reply");
        assert_eq!(logged_in.connect_token, vec![0, 1, 2], "the UDP token");
        assert_eq!(logged_in.role, "admin");
        let bad_token = r#"{"role":"player","connect_token":"!!"}"#;
        assert!(parse_login("ada", bad_token).is_err());
        assert!(parse_login("ada", "<html>").is_err());
    }
}
