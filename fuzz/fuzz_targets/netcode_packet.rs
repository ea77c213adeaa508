//! Raw datagrams from a *connected* client's address, through our netcode guard into
//! netcode's decoder: the address from which the decoder parses sequences and MACs
//! (datagrams from unknown addresses stop earlier). One server and one in-memory
//! client handshake per process; the handshake is redone if the client is dropped.
#![no_main]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use galaxy_shared::guard::check_netcode_packet;
use libfuzzer_sys::fuzz_target;
use renetcode2::{
    ClientAuthentication, ConnectToken, NetcodeClient, NetcodeServer, ServerAuthentication,
    ServerConfig, ServerResult, ServerSocketConfig,
};

const KEY: [u8; 32] = [7; 32];
const PROTOCOL: u64 = 0x4741_4c41;

struct Session {
    server: NetcodeServer,
    client_addr: SocketAddr,
}

fn connected_session() -> Session {
    let server_addr: SocketAddr = "127.0.0.1:5000".parse().expect("literal address");
    let client_addr: SocketAddr = "127.0.0.1:40000".parse().expect("literal address");
    let now = Duration::from_secs(1_800_000_000);
    let mut server = NetcodeServer::new(ServerConfig {
        current_time: now,
        max_clients: 4,
        protocol_id: PROTOCOL,
        sockets: vec![ServerSocketConfig {
            needs_encryption: true,
            public_addresses: vec![server_addr],
        }],
        authentication: ServerAuthentication::Secure { private_key: KEY },
    });
    let token = ConnectToken::generate(now, PROTOCOL, 300, 1, 15, 0, vec![server_addr], None, &KEY)
        .expect("a token for fixed inputs");
    let mut client = NetcodeClient::new(now, ClientAuthentication::Secure { connect_token: token })
        .expect("a client for a fresh token");
    for _ in 0..20 {
        if let Some((packet, _)) = client.update(Duration::from_millis(100)) {
            let mut packet = packet.to_vec();
            let reply = match server.process_packet(0, client_addr, &mut packet) {
                ServerResult::PacketToSend { payload, .. }
                | ServerResult::ConnectionAccepted { payload, .. }
                | ServerResult::ClientConnected { payload, .. } => Some(payload.to_vec()),
                _ => None,
            };
            if let Some(mut reply) = reply {
                client.process_packet(&mut reply);
            }
        }
        server.update(Duration::from_millis(100));
        if client.is_connected() {
            break;
        }
    }
    assert!(client.is_connected(), "the in-memory handshake completes");
    Session {
        server,
        client_addr,
    }
}

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut slot = SESSION.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let session = slot.get_or_insert_with(connected_session);
    if check_netcode_packet(data).is_ok() {
        let mut datagram = data.to_vec();
        let _ = session
            .server
            .process_packet(0, session.client_addr, &mut datagram);
    }
    if !session.server.is_client_connected(1) {
        *slot = None;
    }
});
