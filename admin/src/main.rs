//! `galaxy-admin`: runs one console line on a Galaxy server over its HTTP API, with
//! the grammar and replies of the in-game console. It logs in once and keeps the
//! session token in the user's config directory until it expires.
//!
//! Exit codes: 0 the command ran; 1 the server refused it (or the login); 2 bad
//! usage; 3 the server failed; 4 the server could not be reached.

mod session;

use std::process::ExitCode;

use clap::Parser;
use serde_json::Value;

use crate::session::{Client, Failure};

/// Runs a Galaxy console line (`status`, `players`, `timescale 1000`, `kick ada`, …) on
/// a server as an admin.
#[derive(Parser, Debug)]
#[command(name = "galaxy-admin", version)]
struct Cli {
    /// The server's HTTP address.
    #[arg(long, env = "GALAXY_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The admin account (its password comes from GALAXY_ADMIN_PASSWORD or a prompt).
    #[arg(long, env = "GALAXY_ADMIN_USER", default_value = "root")]
    user: String,
    /// Print the server's answer as JSON ({ok, output, data}) for scripts.
    #[arg(long)]
    json: bool,
    /// Forget the cached session first (log in again).
    #[arg(long)]
    fresh: bool,
    /// The console line, e.g. `players` or `timescale 1000`; `--json` and `--fresh`
    /// may also follow it.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    line: Vec<String>,
}

impl Cli {
    /// Takes `--json` and `--fresh` out of the line wherever they stand: the
    /// line keeps hyphenated words (`teleport ada -100`), and no console word
    /// starts with two hyphens, so `galaxy-admin players --json` means the flag.
    fn flags_after_the_line(mut self) -> Self {
        self.line.retain(|word| match word.as_str() {
            "--json" => {
                self.json = true;
                false
            }
            "--fresh" => {
                self.fresh = true;
                false
            }
            _ => true,
        });
        self
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse().flags_after_the_line();
    let line = cli.line.join(" ");
    let mut client = Client::new(cli.server.trim_end_matches('/'), &cli.user);
    if cli.fresh {
        client.forget();
    }
    match client.run(&line) {
        Ok(answer) => {
            let ok = answer["ok"].as_bool().unwrap_or(false);
            if cli.json {
                println!("{answer}");
            } else {
                print_output(&answer, ok);
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(failure) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "error": failure.to_string() })
                );
            }
            eprintln!("galaxy-admin: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn print_output(answer: &Value, ok: bool) {
    let output = answer["output"].as_str().unwrap_or_default();
    if ok {
        println!("{output}");
    } else {
        eprintln!("refused: {output}");
    }
}

impl Failure {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Failed(_) => 3,
            Self::Unreachable(_) => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let cli = Cli::try_parse_from(std::iter::once("galaxy-admin").chain(args.iter().copied()));
        cli.map(Cli::flags_after_the_line)
            .unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }

    #[test]
    fn flags_may_follow_the_line_and_negative_numbers_stay_in_it() {
        let cli = parse(&["players", "--json"]);
        assert!(cli.json && !cli.fresh);
        assert_eq!(cli.line, ["players"]);
        let cli = parse(&["--json", "status"]);
        assert!(cli.json);
        assert_eq!(cli.line, ["status"]);
        let cli = parse(&["teleport", "ada", "-100", "--fresh"]);
        assert!(cli.fresh && !cli.json);
        assert_eq!(cli.line, ["teleport", "ada", "-100"]);
    }
}
