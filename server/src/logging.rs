//! Log output: Bevy's tracing set-up with the server's format. Plain text, with
//! colour only when stderr is a terminal (so files and journald get no escape
//! codes); one JSON object per line with `GALAXY_LOG_FORMAT=json`, for collectors.

use std::io::IsTerminal;

use bevy::log::tracing_subscriber::fmt;
use bevy::log::{BoxedFmtLayer, LogPlugin};
use bevy::prelude::*;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The format `GALAXY_LOG_FORMAT` names (`plain`, the default, or `json`).
    pub fn from_environment() -> Result<Self, String> {
        match std::env::var("GALAXY_LOG_FORMAT").as_deref() {
            Err(_) | Ok("" | "plain") => Ok(Self::Plain),
            Ok("json") => Ok(Self::Json),
            Ok(other) => Err(format!(
                "GALAXY_LOG_FORMAT is `{other}`; it takes `plain` or `json`"
            )),
        }
    }
}

/// Bevy's log plugin writing `format` to stderr.
pub fn log_plugin(format: LogFormat) -> LogPlugin {
    LogPlugin {
        fmt_layer: match format {
            LogFormat::Plain => plain,
            LogFormat::Json => json,
        },
        ..default()
    }
}

fn plain(_: &mut App) -> Option<BoxedFmtLayer> {
    Some(Box::new(
        fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal()),
    ))
}

fn json(_: &mut App) -> Option<BoxedFmtLayer> {
    Some(Box::new(
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr),
    ))
}
