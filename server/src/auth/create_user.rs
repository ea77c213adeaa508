//! `galaxy-server admin create-user`: makes an account from the command line (the
//! first admin cannot come from anywhere else).

use std::io::BufRead;

use galaxy_shared::protocol::Role;

use super::password;
use super::rules::{validate_password, validate_username};
use crate::db::{CreateError, Db, Player};

/// Where the password comes from when `GALAXY_ADMIN_PASSWORD` is not set.
pub fn password_from(env: Option<String>, stdin: impl BufRead) -> Result<String, String> {
    if let Some(password) = env {
        return Ok(password);
    }
    let mut line = String::new();
    stdin
        .take(4096)
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(
            "no password: set GALAXY_ADMIN_PASSWORD or write it as one line on stdin".into(),
        );
    }
    Ok(password)
}

/// Validates, hashes and stores a new account; returns it.
pub fn create_user(
    database_url: &str,
    name: &str,
    password: &str,
    role: Role,
) -> Result<Player, String> {
    validate_username(name).map_err(|reason| format!("invalid username `{name}`: {reason}"))?;
    validate_password(password).map_err(|reason| format!("invalid password: {reason}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let db = Db::connect(database_url)
            .await
            .map_err(|e| format!("cannot use the database at DATABASE_URL: {e}"))?;
        let hash = password::hash(password.to_owned())
            .await
            .map_err(|e| e.to_string())?;
        match db.create_player(name, &hash, role).await {
            Ok(player) => Ok(player),
            Err(CreateError::Taken) => Err(format!("username `{name}` is taken")),
            Err(CreateError::Db(e)) => Err(format!("cannot create `{name}`: {e}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_the_environment_or_one_line() {
        assert_eq!(
            password_from(Some("from env".into()), &b"stdin\n"[..]),
            Ok("from env".into())
        );
        assert_eq!(
            password_from(None, &b"line one\r\nline two\n"[..]),
            Ok("line one".into())
        );
        assert!(password_from(None, &b""[..]).is_err());
        assert!(password_from(None, &b"\n"[..]).is_err());
    }

    #[test]
    fn bad_names_and_passwords_are_refused_before_touching_the_database() {
        let unreachable = "postgres://nobody@127.0.0.1:1/none";
        let error =
            create_user(unreachable, "a b", "longenough", Role::Admin).expect_err("bad name");
        assert!(error.contains("invalid username"), "{error}");
        let error =
            create_user(unreachable, "root", "short", Role::Admin).expect_err("bad password");
        assert!(error.contains("invalid password"), "{error}");
    }
}
