//! The browser client's files as the real server serves them: content types,
//! precompressed copies by `Accept-Encoding`, cache lifetimes, and the page shown
//! when no client has been built.

use galaxy_tests::server::{ServerProcess, TempDir};

const WASM: &str = "galaxy-0123456789abcdef.wasm";

/// A built client in miniature; each copy says which one it is.
fn dist() -> TempDir {
    let dir = TempDir::new("galaxy-dist");
    let write = |name: &str, body: &str| {
        std::fs::write(dir.path().join(name), body).expect("write a dist file");
    };
    write("index.html", "<!doctype html><title>Galaxy — login</title>");
    write(WASM, "raw wasm");
    write(&format!("{WASM}.br"), "brotli wasm");
    write(&format!("{WASM}.gz"), "gzip wasm");
    dir
}

#[test]
fn the_built_client_is_served_with_types_encodings_and_cache_lifetimes() {
    let dist = dist();
    let dir = dist.path().display().to_string();
    let server = ServerProcess::start(None, &[("GALAXY_WEB__DIR", &dir)]);

    let index = server.get_with("/", &[]);
    assert_eq!(index.status, 200);
    assert!(index.body.contains("Galaxy — login"), "{}", index.body);
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert_eq!(
        index.header("cache-control"),
        Some("no-cache"),
        "index.html names the hashes: never cached blindly"
    );

    let path = format!("/{WASM}");
    for (accept, body, encoding) in [
        ("br, gzip", "brotli wasm", Some("br")),
        ("gzip", "gzip wasm", Some("gzip")),
        ("identity", "raw wasm", None),
    ] {
        let reply = server.get_with(&path, &[("Accept-Encoding", accept)]);
        assert_eq!(reply.status, 200, "{accept}");
        assert_eq!(reply.body, body, "Accept-Encoding: {accept}");
        assert_eq!(reply.header("content-encoding"), encoding, "{accept}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/wasm"),
            "{accept}"
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "content-hashed names are cached for a year"
        );
    }
    assert_eq!(server.get_with("/missing.js", &[]).status, 404);
    assert_eq!(
        server.get("/health").status,
        200,
        "the API still answers beside the files"
    );
}

#[test]
fn without_a_built_client_the_page_says_how_to_build_it() {
    let empty = TempDir::new("galaxy-no-dist");
    let dir = empty.path().join("dist").display().to_string();
    let server = ServerProcess::start(None, &[("GALAXY_WEB__DIR", &dir)]);
    for path in ["/", "/galaxy.wasm"] {
        let page = server.get_with(path, &[]);
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains("scripts/build-web.sh"),
            "{path}: {}",
            page.body
        );
        assert_eq!(page.header("cache-control"), Some("no-cache"));
    }
}
