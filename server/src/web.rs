//! The browser client's files, served by the HTTP server at every path the API does
//! not claim: the `web.dir` folder that `scripts/build-web.sh` fills (`index.html`,
//! content-hashed `.js`/`.wasm`, their `.br`/`.gz` copies).
//!
//! Precompressed copies go out by `Accept-Encoding` (brotli first). Content-hashed
//! names never change their bytes, so they are cached for a year; everything else
//! (`index.html` above all, which names the current hashes) is revalidated on every
//! load. Without a built client every page is one that says how to build it.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::ServeDir;

/// Cache lifetime of content-hashed files.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is checked with the server on each use.
const REVALIDATE: &str = "no-cache";

/// Whether the built client is in `dir`.
pub fn is_built(dir: &Path) -> bool {
    dir.join("index.html").is_file()
}

/// The router that serves `dir`, or the how-to-build page when it holds no client.
pub fn routes(dir: &Path) -> Router {
    if !is_built(dir) {
        let page = not_built_page(dir);
        return Router::new().fallback(move || {
            let page = page.clone();
            async move { (StatusCode::OK, no_store(Html(page).into_response())) }
        });
    }
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    response
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let hashed = is_content_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// A file name with a middle part of at least 8 hex digits between `-` or `.`
/// separators (`galaxy-1f3a9c0d2b4e6f70.wasm`) is named after its content.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let parts: Vec<&str> = name.split(['-', '.']).collect();
    let middle = parts.get(1..parts.len().saturating_sub(1)).unwrap_or(&[]);
    middle
        .iter()
        .any(|part| part.len() >= 8 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn not_built_page(dir: &Path) -> String {
    let dir = dir
        .display()
        .to_string()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Galaxy — not built</title></head>\n\
         <body style=\"font-family: sans-serif; background: #05070d; color: #dde; margin: 3em\">\n\
         <h1>Galaxy</h1>\n<p>This server has no browser client to serve: <code>{dir}/index.html</code> is missing.</p>\n\
         <p>Build it with <code>scripts/build-web.sh</code> (it writes <code>dist/</code>), or point \
         <code>web.dir</code> (<code>GALAXY_WEB__DIR</code>) at a built copy, then reload.</p>\n\
         <p>The native client and the HTTP API work without it.</p>\n</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashed_names_are_recognised() {
        assert!(is_content_hashed("/galaxy-1f3a9c0d2b4e6f70.wasm"));
        assert!(is_content_hashed("/assets/galaxy-1f3a9c0d.js"));
        assert!(is_content_hashed("/app.0123abcd.js"));
        assert!(!is_content_hashed("/index.html"));
        assert!(!is_content_hashed("/"));
        assert!(!is_content_hashed("/galaxy.wasm"));
        assert!(
            !is_content_hashed("/deadbeefcafe.html"),
            "a hex stem alone is a name"
        );
        assert!(!is_content_hashed("/galaxy-loader.js"));
    }
}
