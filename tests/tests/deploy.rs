//! Deployment: no Docker engine or cluster runs here, so every manifest under
//! `deploy/` and the `Dockerfile` are parsed and checked against the configuration
//! the server would run with (ports, probes, images, users, secrets), and the Agones
//! SDK calls are checked end to end against a stub sidecar on loopback.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use galaxy_formats::config::Config;
use galaxy_tests::repo_root;
use galaxy_tests::server::{ServerSetup, free_udp_port};
use yaml_rust2::{Yaml, YamlLoader};

/// Every YAML document in `dir`, with the file it came from.
fn documents(dir: &Path) -> Vec<(String, Yaml)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("deploy folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|path| {
            let text = std::fs::read_to_string(path).expect("readable");
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            YamlLoader::load_from_str(&text)
                .unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
                .into_iter()
                .map(move |doc| (name.clone(), doc))
        })
        .collect()
}

fn find<'a>(docs: &'a [(String, Yaml)], kind: &str, name: &str) -> &'a Yaml {
    docs.iter()
        .map(|(_, doc)| doc)
        .find(|doc| {
            doc["kind"].as_str() == Some(kind) && doc["metadata"]["name"].as_str() == Some(name)
        })
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn list(yaml: &Yaml) -> &[Yaml] {
    yaml.as_vec().map_or(&[], Vec::as_slice)
}

/// The effective configuration in the cluster: the defaults and the ConfigMap's file.
fn cluster_config(docs: &[(String, Yaml)]) -> Config {
    let map = find(docs, "ConfigMap", "galaxy-config");
    let file = map["data"]["galaxy.toml"]
        .as_str()
        .expect("galaxy.toml in the ConfigMap");
    Config::parse(file, "the ConfigMap", std::iter::empty())
        .expect("the ConfigMap's galaxy.toml is valid")
}

/// (name, port, protocol) of a container's ports.
fn container_ports(container: &Yaml) -> BTreeSet<(String, i64, String)> {
    list(&container["ports"])
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("port name").to_owned(),
                p["containerPort"].as_i64().expect("containerPort"),
                p["protocol"].as_str().unwrap_or("TCP").to_owned(),
            )
        })
        .collect()
}

fn expected_ports(config: &Config) -> BTreeSet<(String, i64, String)> {
    let port = |addr: std::net::SocketAddr| i64::from(addr.port());
    [
        ("http", port(config.net.http_addr), "TCP"),
        ("game-udp", port(config.net.udp_addr), "UDP"),
        ("game-ws", port(config.net.ws_addr), "TCP"),
    ]
    .into_iter()
    .map(|(n, p, t)| (n.to_owned(), p, t.to_owned()))
    .collect()
}

/// A probe's path and the port it names, as a number.
fn probe(container: &Yaml, which: &str) -> (String, i64) {
    let get = &container[which]["httpGet"];
    let path = get["path"]
        .as_str()
        .unwrap_or_else(|| panic!("{which} has a path"))
        .to_owned();
    let port = match &get["port"] {
        Yaml::Integer(n) => *n,
        Yaml::String(name) => container_ports(container)
            .into_iter()
            .find(|(n, ..)| n == name)
            .map(|(_, p, _)| p)
            .unwrap_or_else(|| panic!("{which} names no container port {name}")),
        other => panic!("{which} port {other:?}"),
    };
    (path, port)
}

fn image_version() -> String {
    format!("galaxy-server:{}", env!("CARGO_PKG_VERSION"))
}

/// Checks one game server container: ports, probes, image, resources, user, env.
fn check_server_container(container: &Yaml, config: &Config, pod: &Yaml, what: &str) {
    assert_eq!(
        container_ports(container),
        expected_ports(config),
        "{what}: container ports"
    );
    let http = i64::from(config.net.http_addr.port());
    assert_eq!(
        probe(container, "livenessProbe"),
        ("/health".into(), http),
        "{what}"
    );
    assert_eq!(
        probe(container, "readinessProbe"),
        ("/ready".into(), http),
        "{what}"
    );
    assert_eq!(
        container["image"].as_str(),
        Some(image_version().as_str()),
        "{what}: image"
    );
    let requests = &container["resources"]["requests"];
    assert!(
        requests["cpu"].as_str().is_some() && requests["memory"].as_str().is_some(),
        "{what}: resource requests"
    );
    assert!(
        container["resources"]["limits"]["memory"]
            .as_str()
            .is_some(),
        "{what}: a memory limit"
    );
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true),
        "{what}"
    );
    assert_eq!(
        pod["securityContext"]["runAsUser"].as_i64(),
        Some(DOCKER_UID),
        "{what}: the image's user"
    );
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    let env: Vec<&str> = list(&container["env"])
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for needed in ["GALAXY_JWT_SECRET", "DATABASE_URL"] {
        assert!(env.contains(&needed), "{what}: {needed} is set ({env:?})");
    }
    assert!(
        pod["terminationGracePeriodSeconds"]
            .as_i64()
            .is_some_and(|s| s >= 10),
        "{what}: time for the final snapshot"
    );
}

/// The unprivileged user the Dockerfile runs as.
const DOCKER_UID: i64 = 10001;

/// Every `secretKeyRef` in the documents names a key of the Secret template.
fn secret_refs(yaml: &Yaml, found: &mut Vec<(String, String)>) {
    match yaml {
        Yaml::Hash(map) => {
            if let Some(reference) = map.get(&Yaml::String("secretKeyRef".into())) {
                found.push((
                    reference["name"].as_str().unwrap_or("").to_owned(),
                    reference["key"].as_str().unwrap_or("").to_owned(),
                ));
            }
            map.values().for_each(|v| secret_refs(v, found));
        }
        Yaml::Array(items) => items.iter().for_each(|v| secret_refs(v, found)),
        _ => {}
    }
}

#[test]
fn the_kubernetes_manifests_match_the_servers_configuration() {
    let docs = documents(&repo_root().join("deploy/kubernetes"));
    for (file, doc) in &docs {
        assert!(doc["apiVersion"].as_str().is_some(), "{file}: apiVersion");
        assert!(doc["kind"].as_str().is_some(), "{file}: kind");
        let kustomization = doc["kind"].as_str() == Some("Kustomization");
        assert!(
            kustomization || doc["metadata"]["name"].as_str().is_some(),
            "{file}: metadata.name"
        );
        if doc["kind"].as_str() != Some("Namespace")
            && doc["kind"].as_str() != Some("Kustomization")
        {
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some("galaxy"),
                "{file}: namespace"
            );
        }
    }
    let kustomization = docs
        .iter()
        .find(|(_, d)| d["kind"].as_str() == Some("Kustomization"))
        .map(|(_, d)| d)
        .expect("a kustomization");
    for resource in list(&kustomization["resources"]) {
        let file = resource.as_str().expect("file name");
        assert!(
            repo_root().join("deploy/kubernetes").join(file).is_file(),
            "{file} exists"
        );
    }
    find(&docs, "Namespace", "galaxy");
    let config = cluster_config(&docs);
    assert!(
        config.persistence.database_url.starts_with("sqlite"),
        "the URL comes from the Secret"
    );

    let deployment = find(&docs, "Deployment", "galaxy-server");
    assert_eq!(
        deployment["spec"]["replicas"].as_i64(),
        Some(1),
        "one authoritative simulation"
    );
    assert_eq!(
        deployment["spec"]["strategy"]["type"].as_str(),
        Some("Recreate")
    );
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &list(&pod["containers"])[0];
    check_server_container(container, &config, pod, "Deployment");
    let env: Vec<&Yaml> = list(&container["env"]).iter().collect();
    let config_path = env
        .iter()
        .find(|e| e["name"].as_str() == Some("GALAXY_CONFIG"))
        .and_then(|e| e["value"].as_str())
        .expect("GALAXY_CONFIG");
    let mounted = list(&container["volumeMounts"]).iter().any(|m| {
        m["name"].as_str() == Some("config")
            && config_path.starts_with(m["mountPath"].as_str().unwrap_or("?"))
    });
    assert!(
        mounted,
        "the ConfigMap is mounted where GALAXY_CONFIG points"
    );

    // The Services reach every game port with the right protocol.
    let ports = container_ports(container);
    let mut served = BTreeSet::new();
    for service in ["galaxy", "galaxy-udp"] {
        let spec = &find(&docs, "Service", service)["spec"];
        assert_eq!(
            spec["selector"]["app.kubernetes.io/name"].as_str(),
            Some("galaxy-server"),
            "{service} selects the server"
        );
        for port in list(&spec["ports"]) {
            let target = port["targetPort"].as_str().expect("named targetPort");
            let protocol = port["protocol"].as_str().unwrap_or("TCP");
            let (_, number, kind) = ports
                .iter()
                .find(|(name, ..)| name == target)
                .unwrap_or_else(|| panic!("{service} targets no container port {target}"));
            assert_eq!(kind, protocol, "{service}:{target} protocol");
            assert_eq!(
                port["port"].as_i64(),
                Some(*number),
                "{service}:{target} keeps the port"
            );
            served.insert(target.to_owned());
        }
    }
    assert_eq!(
        served.len(),
        3,
        "http, game-udp and game-ws are all served: {served:?}"
    );

    // PostgreSQL: a StatefulSet with a volume and a pinned image.
    let postgres = find(&docs, "StatefulSet", "galaxy-postgres");
    assert!(
        !list(&postgres["spec"]["volumeClaimTemplates"]).is_empty(),
        "a volume"
    );
    let image = list(&postgres["spec"]["template"]["spec"]["containers"])[0]["image"]
        .as_str()
        .expect("image");
    assert!(
        image.starts_with("postgres:") && !image.ends_with(":latest"),
        "{image}"
    );
    find(&docs, "Service", "galaxy-postgres");

    // Every secret reference has a key in the template.
    let template = documents(&repo_root().join("deploy/kubernetes"))
        .into_iter()
        .find(|(file, _)| file == "secret.example.yaml")
        .map(|(_, d)| d)
        .expect("the Secret template");
    let mut refs = Vec::new();
    for (_, doc) in documents(&repo_root().join("deploy/kubernetes"))
        .iter()
        .chain(documents(&repo_root().join("deploy/agones")).iter())
    {
        secret_refs(doc, &mut refs);
    }
    assert!(!refs.is_empty());
    for (name, key) in refs {
        assert_eq!(
            name,
            template["metadata"]["name"].as_str().unwrap_or(""),
            "{key}"
        );
        assert!(
            template["stringData"][key.as_str()].as_str().is_some(),
            "the template has {key}"
        );
    }
}

#[test]
fn the_agones_fleet_gives_every_universe_its_own_database() {
    let kube = documents(&repo_root().join("deploy/kubernetes"));
    let config = cluster_config(&kube);
    let docs = documents(&repo_root().join("deploy/agones"));
    let fleet = find(&docs, "Fleet", "galaxy");
    let game_server = &fleet["spec"]["template"]["spec"];
    // Agones maps the declared ports; the server learns the mapping from the SDK.
    let declared: BTreeSet<(String, i64, String)> = list(&game_server["ports"])
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_owned(),
                p["containerPort"].as_i64().expect("containerPort"),
                p["protocol"].as_str().unwrap_or("UDP").to_owned(),
            )
        })
        .collect();
    assert_eq!(declared, expected_ports(&config));
    let pod = &game_server["template"]["spec"];
    let container = &list(&pod["containers"])[0];
    let env = |name: &str| {
        list(&container["env"])
            .iter()
            .find(|e| e["name"].as_str() == Some(name))
            .and_then(|e| e["value"].as_str())
            .map(str::to_owned)
    };
    assert_eq!(env("GALAXY_AGONES__ENABLED").as_deref(), Some("true"));
    let interval: f64 = env("GALAXY_AGONES__HEALTH_INTERVAL_S")
        .and_then(|v| v.parse().ok())
        .expect("a health interval");
    let period = game_server["health"]["periodSeconds"]
        .as_i64()
        .expect("health.periodSeconds");
    assert!(
        interval < period as f64 / 2.0,
        "Health ({interval} s) well inside Agones' period ({period} s)"
    );
    let url = env("DATABASE_URL").expect("DATABASE_URL");
    assert!(
        url.ends_with("/$(UNIVERSE)"),
        "one database per GameServer: {url}"
    );
    let universe = list(&container["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some("UNIVERSE"))
        .expect("UNIVERSE");
    assert_eq!(
        universe["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("metadata.name")
    );
    let creates = list(&pod["initContainers"]).iter().any(|c| {
        list(&c["command"])
            .iter()
            .any(|part| part.as_str().is_some_and(|s| s.contains("CREATE DATABASE")))
    });
    assert!(creates, "an init container creates the universe's database");
    // The same container as the plain Deployment, with its ports declared by Agones.
    let mut with_names = container.clone();
    if let Yaml::Hash(map) = &mut with_names {
        map.insert(Yaml::String("ports".into()), game_server["ports"].clone());
    }
    check_server_container(&with_names, &config, pod, "Fleet");
}

#[test]
fn the_dockerfile_builds_a_non_root_image_with_the_web_client_and_a_health_check() {
    let text = std::fs::read_to_string(repo_root().join("Dockerfile")).expect("Dockerfile");
    // Continuation lines joined, comments dropped.
    let joined = text.replace("\\\n", " ");
    let lines: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .copied()
        .collect();
    assert!(
        stages.len() >= 3,
        "web, server and runtime stages: {stages:?}"
    );
    let last_from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("FROM");
    let runtime = &lines[last_from..];
    let instruction = |word: &str| -> Vec<&str> {
        runtime
            .iter()
            .filter_map(|l| l.strip_prefix(word).map(str::trim))
            .collect()
    };
    assert_eq!(
        instruction("USER "),
        [format!("{DOCKER_UID}:{DOCKER_UID}").as_str()]
    );
    let config = Config::defaults().expect("defaults");
    let exposed: BTreeSet<String> = instruction("EXPOSE ")
        .iter()
        .flat_map(|l| l.split_whitespace().map(str::to_owned))
        .collect();
    let wanted: BTreeSet<String> = [
        format!("{}/tcp", config.net.http_addr.port()),
        format!("{}/udp", config.net.udp_addr.port()),
        format!("{}/tcp", config.net.ws_addr.port()),
    ]
    .into();
    assert_eq!(exposed, wanted);
    let health = instruction("HEALTHCHECK ").join(" ");
    assert!(
        health.contains(&format!("127.0.0.1:{}/health", config.net.http_addr.port())),
        "{health}"
    );
    let web_dir = runtime
        .iter()
        .find_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("GALAXY_WEB__DIR="))
        })
        .expect("GALAXY_WEB__DIR");
    assert!(
        instruction("COPY ")
            .iter()
            .any(|c| c.starts_with("--from=web") && c.ends_with(web_dir)),
        "the web stage's client is copied to {web_dir}"
    );
    assert!(
        lines.iter().any(|l| l.contains("scripts/build-web.sh")),
        "the web client is built by the same script as here"
    );
    assert_eq!(instruction("ENTRYPOINT "), ["[\"galaxy-server\"]"]);
}

/// A stub Agones sidecar: answers `GET /gameserver` with `record` and every POST
/// with `{}`, and remembers the paths in order.
fn stub_sidecar(record: serde_json::Value) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut words = request_line.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            seen.lock().expect("calls").push(format!("{method} {path}"));
            let answer = if method == "GET" {
                record.to_string()
            } else {
                "{}".to_owned()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, calls)
}

#[test]
fn under_agones_the_server_publishes_its_mapped_ports_and_reports_ready_health_and_shutdown() {
    let (mapped_udp, mapped_ws) = (free_udp_port(), 47_001);
    let record = serde_json::json!({
        "object_meta": { "name": "galaxy-abcde" },
        "status": {
            "state": "Scheduled",
            "address": "127.0.0.1",
            "ports": [
                { "name": "http", "port": 47_000 },
                { "name": "game-udp", "port": mapped_udp },
                { "name": "game-ws", "port": mapped_ws }
            ]
        }
    });
    let (port, calls) = stub_sidecar(record);
    let port_text = port.to_string();
    let mut server = ServerSetup::new(None).start(&[
        ("GALAXY_AGONES__ENABLED", "true"),
        ("GALAXY_AGONES__HEALTH_INTERVAL_S", "0.2"),
        ("AGONES_SDK_HTTP_PORT", port_text.as_str()),
    ]);
    let calls_now = || calls.lock().expect("calls").clone();
    let started = Instant::now();
    while calls_now().iter().filter(|c| *c == "POST /health").count() < 3
        && started.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = calls_now();
    assert_eq!(
        seen.first().map(String::as_str),
        Some("GET /gameserver"),
        "{seen:?}"
    );
    let ready = seen
        .iter()
        .position(|c| c == "POST /ready")
        .expect("Ready was called");
    let first_health = seen
        .iter()
        .position(|c| c == "POST /health")
        .expect("Health was called");
    assert!(ready < first_health, "Ready before Health: {seen:?}");
    assert_eq!(
        seen.iter().filter(|c| *c == "POST /ready").count(),
        1,
        "{seen:?}"
    );

    // Logins hand out the mapped addresses, not the container's ports.
    assert_eq!(
        server.register("agones-player", "correct horse battery"),
        201
    );
    let (status, reply, _) = server.login("agones-player", "correct horse battery");
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["udp_addr"], format!("127.0.0.1:{mapped_udp}"));
    assert_eq!(reply["ws_url"], format!("ws://127.0.0.1:{mapped_ws}"));

    server.terminate(Duration::from_secs(20));
    let seen = calls_now();
    assert_eq!(
        seen.last().map(String::as_str),
        Some("POST /shutdown"),
        "{seen:?}"
    );
}
