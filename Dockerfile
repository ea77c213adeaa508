# syntax=docker/dockerfile:1
# Galaxy's server image: the release server binary and the browser client it serves
# at /, on a slim Debian, running as an unprivileged user.
#
#   docker build -t galaxy-server:0.1.0 .
#   docker run -p 8080:8080 -p 5000:5000/udp -p 5001:5001 \
#       -e GALAXY_PUBLIC_HOST=<address players reach> -e GALAXY_JWT_SECRET=<32+ bytes> \
#       -v galaxy-data:/var/lib/galaxy galaxy-server:0.1.0
#
# Without DATABASE_URL the world lives in SQLite on the /var/lib/galaxy volume; set
# DATABASE_URL=postgres://... for PostgreSQL (deploy/kubernetes/ does).
ARG RUST_VERSION=1.95

# The browser client, web-release profile: rustup's wasm32 target, wasm-bindgen at
# Cargo.lock's version and npm's binaryen, all through scripts/build-web.sh.
FROM rust:${RUST_VERSION}-bookworm AS web
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm brotli \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN scripts/build-web.sh --out /out/web

# The server.
FROM rust:${RUST_VERSION}-bookworm AS server
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p galaxy_server --bin galaxy-server \
    && install -D target/release/galaxy-server /out/galaxy-server

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/galaxy --create-home galaxy
COPY --from=server /out/galaxy-server /usr/local/bin/galaxy-server
COPY --from=web /out/web /usr/share/galaxy/web
ENV GALAXY_WEB__DIR=/usr/share/galaxy/web \
    DATABASE_URL=sqlite:///var/lib/galaxy/galaxy.db \
    GALAXY_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/galaxy
VOLUME ["/var/lib/galaxy"]
# HTTP API, web client and dashboard; native clients (UDP); browsers (WebSocket).
EXPOSE 8080/tcp 5000/udp 5001/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["galaxy-server"]
