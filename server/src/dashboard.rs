//! The admin web dashboard at `/admin`: one page, its script and its style sheet,
//! compiled into the binary so every server carries the dashboard of its own version.
//!
//! The page logs in through `/api/auth/login` and then only talks to the admin
//! endpoints (`/api/admin/command`, `/history`, `/audit`), which check the account's
//! role on every request; a player account gets the page's refusal view. It is
//! served with a strict content security policy (our own script and style only) and
//! may not be framed, so no other site can dress its buttons up as something else.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const PAGE: &str = include_str!("../dashboard/index.html");
const SCRIPT: &str = include_str!("../dashboard/dashboard.js");
const STYLE: &str = include_str!("../dashboard/dashboard.css");

/// Our own files only; no inline script, no frames, no third-party origins.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
                      base-uri 'none'; form-action 'self'";

/// The dashboard's routes.
pub fn routes() -> Router {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/", get(page))
        .route("/admin/dashboard.js", get(script))
        .route("/admin/dashboard.css", get(style))
}

async fn page() -> Response {
    file(PAGE, "text/html; charset=utf-8")
}

async fn script() -> Response {
    file(SCRIPT, "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}

fn file(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with the binary, not with a hashed name: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
