//! The game's state where the player (and a test) sees it at a glance: the window
//! title natively; in the browser the document's title, the page's `data-state`
//! (which hides the loading indicator), `data-ships` (how many other ships the game
//! knows of) and, when the game cannot go on, a message over the canvas instead of
//! a frozen picture.

use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use crate::Screen;
use crate::net::{Latest, Link, LinkStatus, Session, ShipSamples};

pub(super) fn plugin(app: &mut App) {
    #[cfg(target_arch = "wasm32")]
    browser::show_panics();
    app.add_systems(Last, show_state);
}

/// What the title says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GameState {
    /// On the login screen.
    Login,
    /// Logged in, waiting for the handshake, the Welcome and the first State.
    Connecting,
    /// Flying on live data.
    Connected,
    /// The connection is gone (or the game stopped).
    Disconnected,
}

impl GameState {
    /// The state's word, as the page's `data-state` carries it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }

    /// The window and document title.
    pub fn title(self) -> String {
        format!("Galaxy — {}", self.word())
    }
}

/// The state from the screen and the link: `Connected` only once the Welcome and a
/// State have arrived, since before that there is nothing to fly.
pub(crate) fn game_state(
    screen: Screen,
    link: &LinkStatus,
    welcomed: bool,
    live: bool,
) -> GameState {
    match (screen, link) {
        (Screen::Login, _) => GameState::Login,
        (Screen::Flight, LinkStatus::Disconnected(_)) => GameState::Disconnected,
        (Screen::Flight, LinkStatus::Connected) if welcomed && live => GameState::Connected,
        (Screen::Flight, _) => GameState::Connecting,
    }
}

fn show_state(
    screen: Res<State<Screen>>,
    link: Res<Link>,
    session: Option<Res<Session>>,
    latest: Res<Latest>,
    ships: Res<ShipSamples>,
    mut window: Single<&mut Window, With<PrimaryWindow>>,
    mut shown: Local<Option<(GameState, usize)>>,
) {
    let state = game_state(
        *screen.get(),
        &link.status,
        session.is_some(),
        latest.received.is_some(),
    );
    let others = ships.0.len();
    if *shown == Some((state, others)) {
        return;
    }
    *shown = Some((state, others));
    window.title = state.title();
    #[cfg(target_arch = "wasm32")]
    browser::show(state, others, &advice(&link.status));
}

/// What the page says over the canvas once the connection is gone (natively the
/// HUD's connection line says it).
#[cfg(any(target_arch = "wasm32", test))]
fn advice(link: &LinkStatus) -> String {
    match link {
        LinkStatus::Disconnected(reason) => {
            format!("Disconnected: {reason}. Reload the page to play again.")
        }
        _ => String::new(),
    }
}

/// The page's side: `document.title`, `<body data-state data-ships>` and `#message`.
#[cfg(target_arch = "wasm32")]
mod browser {
    use super::GameState;

    pub(super) fn show(state: GameState, others: usize, message: &str) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        document.set_title(&state.title());
        if let Some(body) = document.body() {
            // Setting an attribute on our own body cannot fail in a way worth handling.
            let _ = body.set_attribute("data-state", state.word());
            let _ = body.set_attribute("data-ships", &others.to_string());
        }
        if let Some(element) = document.get_element_by_id("message") {
            element.set_text_content(Some(message));
        }
    }

    /// A panic stops the game: say so on the page (then log it as Bevy does).
    pub(super) fn show_panics() {
        let logged = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            show(
                GameState::Disconnected,
                0,
                &format!("The game stopped: {info}. Reload the page to play again."),
            );
            logged(info);
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_waits_for_the_welcome_and_a_state() {
        let connected = LinkStatus::Connected;
        assert_eq!(
            game_state(Screen::Login, &LinkStatus::Offline, false, false),
            GameState::Login
        );
        assert_eq!(
            game_state(Screen::Flight, &LinkStatus::Connecting, false, false),
            GameState::Connecting
        );
        assert_eq!(
            game_state(Screen::Flight, &connected, false, true),
            GameState::Connecting,
            "no Welcome yet"
        );
        assert_eq!(
            game_state(Screen::Flight, &connected, true, false),
            GameState::Connecting,
            "no State yet"
        );
        assert_eq!(
            game_state(Screen::Flight, &connected, true, true),
            GameState::Connected
        );
        let lost = LinkStatus::Disconnected("timed out".into());
        assert_eq!(
            game_state(Screen::Flight, &lost, true, true),
            GameState::Disconnected
        );
        assert_eq!(GameState::Connected.title(), "Galaxy — connected");
        assert!(advice(&lost).contains("timed out"));
    }
}
