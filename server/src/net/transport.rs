//! The game transport: netcode over native UDP and WebSocket on one server, with
//! the packet guards between the sockets, netcode and renet.
//!
//! renet2's own transport hands every datagram straight to netcode and every
//! decrypted payload straight to renet; this one runs the same pipeline but checks
//! each step first (see [`galaxy_shared::guard`]), and counts bytes for the metrics.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bevy::prelude::*;
use galaxy_shared::guard::{ClientGuard, Rejection, check_netcode_packet};
use metrics::counter;
use renet2::{ClientId, RenetServer};
use renet2_netcode::{NativeSocket, ServerSocket, WebSocketServer, WebSocketServerConfig};
use renetcode2::{
    NETCODE_MAX_PACKET_BYTES, NetcodeServer, ServerAuthentication, ServerConfig, ServerResult,
    ServerSocketConfig,
};

use crate::telemetry;

/// Socket index of native UDP clients (matches their connect tokens).
pub const UDP_SOCKET: usize = 0;
/// Socket index of browser (WebSocket) clients.
pub const WS_SOCKET: usize = 1;

/// Where the transport listens and what it tells clients.
#[derive(Clone, Debug)]
pub struct TransportSetup {
    /// UDP listen address.
    pub udp_listen: SocketAddr,
    /// WebSocket listen address.
    pub ws_listen: SocketAddr,
    /// UDP address put into connect tokens.
    pub udp_public: SocketAddr,
    /// WebSocket address put into connect tokens.
    pub ws_public: SocketAddr,
    /// Most clients at once.
    pub max_clients: usize,
    /// Netcode private key (seals connect tokens).
    pub private_key: [u8; 32],
    /// Netcode protocol id.
    pub protocol_id: u64,
}

/// Sockets plus the netcode server.
#[derive(Resource)]
pub struct GuardedTransport {
    sockets: Vec<Box<dyn ServerSocket>>,
    netcode: NetcodeServer,
    buffer: Box<[u8; NETCODE_MAX_PACKET_BYTES]>,
    /// Per-connection packet guards, from connect to disconnect.
    guards: HashMap<ClientId, ClientGuard>,
    udp_addr: SocketAddr,
    ws_addr: SocketAddr,
}

fn since_unix_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl GuardedTransport {
    /// Binds both sockets. The WebSocket server runs its I/O on `runtime`.
    pub fn bind(setup: &TransportSetup, runtime: tokio::runtime::Handle) -> io::Result<Self> {
        let udp =
            NativeSocket::new(UdpSocket::bind(setup.udp_listen)?).map_err(io::Error::other)?;
        let udp_addr = udp.addr()?;
        let ws = WebSocketServer::new(
            WebSocketServerConfig::new(setup.ws_listen, setup.max_clients),
            runtime,
        )
        .map_err(io::Error::other)?;
        let ws_addr = ws.addr()?;
        let public = |public: SocketAddr, bound: SocketAddr| {
            // Port 0 in the config means "any": publish the port actually bound.
            if public.port() == 0 {
                SocketAddr::new(public.ip(), bound.port())
            } else {
                public
            }
        };
        let sockets: Vec<Box<dyn ServerSocket>> = vec![Box::new(udp), Box::new(ws)];
        let socket_configs = vec![
            ServerSocketConfig {
                needs_encryption: !sockets[UDP_SOCKET].is_encrypted(),
                public_addresses: vec![public(setup.udp_public, udp_addr)],
            },
            ServerSocketConfig {
                needs_encryption: !sockets[WS_SOCKET].is_encrypted(),
                public_addresses: vec![public(setup.ws_public, ws_addr)],
            },
        ];
        let netcode = NetcodeServer::new(ServerConfig {
            current_time: since_unix_epoch(),
            max_clients: setup.max_clients,
            protocol_id: setup.protocol_id,
            sockets: socket_configs,
            authentication: ServerAuthentication::Secure {
                private_key: setup.private_key,
            },
        });
        Ok(Self {
            sockets,
            netcode,
            buffer: Box::new([0; NETCODE_MAX_PACKET_BYTES]),
            guards: HashMap::new(),
            udp_addr,
            ws_addr,
        })
    }

    /// The bound UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The bound WebSocket address.
    pub fn ws_addr(&self) -> SocketAddr {
        self.ws_addr
    }

    /// The user data of a connected client's connect token.
    pub fn user_data(&self, client: ClientId) -> Option<[u8; 256]> {
        self.netcode.user_data(client)
    }

    /// Receives everything waiting on the sockets and feeds renet.
    pub fn receive(&mut self, elapsed: Duration, renet: &mut RenetServer) {
        self.netcode.update(elapsed);
        for socket_id in 0..self.sockets.len() {
            self.sockets[socket_id].preupdate();
            loop {
                let (len, addr) = match self.sockets[socket_id].try_recv(&mut self.buffer[..]) {
                    Ok(received) => received,
                    Err(e)
                        if e.kind() == io::ErrorKind::WouldBlock
                            || e.kind() == io::ErrorKind::Interrupted =>
                    {
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
                    Err(e) => {
                        warn!(socket_id, error = %e, "game socket receive failed");
                        break;
                    }
                };
                counter!(telemetry::NET_BYTES, "direction" => "in").increment(len as u64);
                if let Err(rejection) = check_netcode_packet(&self.buffer[..len]) {
                    count_guarded(rejection);
                    debug!(%addr, "dropped a datagram with an invalid netcode prefix");
                    continue;
                }
                let result = self
                    .netcode
                    .process_packet(socket_id, addr, &mut self.buffer[..len]);
                handle(result, &mut self.sockets, &mut self.guards, renet);
            }
        }
        for client in self.netcode.clients_id() {
            let result = self.netcode.update_client(client);
            handle(result, &mut self.sockets, &mut self.guards, renet);
        }
        let gone: Vec<ClientId> = self
            .netcode
            .clients_id_iter()
            .filter(|&id| !renet.is_connected(id))
            .collect();
        for client in gone {
            let result = self.netcode.disconnect(client);
            handle(result, &mut self.sockets, &mut self.guards, renet);
        }
        for socket in &mut self.sockets {
            socket.postupdate();
        }
    }

    /// Sends what renet has queued for every client.
    pub fn send(&mut self, renet: &mut RenetServer) {
        for client in self.netcode.clients_id() {
            let Ok(packets) = renet.get_packets_to_send(client) else {
                continue;
            };
            let mut lost = false;
            for packet in packets {
                match self.netcode.generate_payload_packet(client, packet) {
                    Ok((socket_id, addr, payload)) => {
                        counter!(telemetry::NET_BYTES, "direction" => "out")
                            .increment(payload.len() as u64);
                        if let Err(e) = self.sockets[socket_id].send(addr, payload) {
                            if matches!(&e, renet2_netcode::NetcodeTransportError::IO(io) if io.kind() == io::ErrorKind::ConnectionAborted)
                            {
                                lost = true;
                                break;
                            }
                            debug!(client, error = %e, "game packet send failed");
                        }
                    }
                    Err(e) => {
                        warn!(client, error = %e, "cannot seal a payload packet");
                        break;
                    }
                }
            }
            if lost {
                self.guards.remove(&client);
                renet.remove_connection(client);
                let _ = self.netcode.disconnect(client);
            }
        }
    }

    /// Tells every client goodbye (on shutdown).
    pub fn disconnect_all(&mut self, renet: &mut RenetServer) {
        for client in self.netcode.clients_id() {
            let result = self.netcode.disconnect(client);
            handle(result, &mut self.sockets, &mut self.guards, renet);
        }
    }
}

/// Counts a datagram the guard dropped, by kind.
fn count_guarded(rejection: Rejection) {
    counter!(telemetry::GUARDED_PACKETS, "kind" => rejection.as_str()).increment(1);
}

fn handle(
    result: ServerResult,
    sockets: &mut [Box<dyn ServerSocket>],
    guards: &mut HashMap<ClientId, ClientGuard>,
    renet: &mut RenetServer,
) {
    let send = |sockets: &mut [Box<dyn ServerSocket>],
                socket_id: usize,
                addr: SocketAddr,
                packet: &[u8]| {
        counter!(telemetry::NET_BYTES, "direction" => "out").increment(packet.len() as u64);
        if let Err(e) = sockets[socket_id].send(addr, packet) {
            trace!(%addr, error = %e, "netcode packet send failed");
        }
    };
    match result {
        ServerResult::None => {}
        ServerResult::Error { addr, socket_id } => sockets[socket_id].disconnect(addr),
        ServerResult::ConnectionDenied {
            addr,
            socket_id,
            payload,
        } => {
            if let Some(payload) = payload {
                send(sockets, socket_id, addr, payload);
            }
            sockets[socket_id].connection_denied(addr);
        }
        ServerResult::ConnectionAccepted {
            client_id,
            addr,
            socket_id,
            payload,
        } => {
            sockets[socket_id].connection_accepted(client_id, addr);
            send(sockets, socket_id, addr, payload);
        }
        ServerResult::PacketToSend {
            payload,
            addr,
            socket_id,
        } => send(sockets, socket_id, addr, payload),
        ServerResult::Payload { client_id, payload } => {
            let Some(guard) = guards.get_mut(&client_id) else {
                debug!(client_id, "payload for a connection without a guard");
                return;
            };
            if let Err(rejection) = guard.check_renet_payload(payload) {
                count_guarded(rejection);
                debug!(
                    client_id,
                    kind = rejection.as_str(),
                    "dropped a renet packet"
                );
            } else if renet.process_packet_from(payload, client_id).is_err() {
                debug!(client_id, "payload for an unknown renet connection");
            }
        }
        ServerResult::ClientConnected {
            client_id,
            addr,
            payload,
            socket_id,
            ..
        } => {
            let reliable = sockets[socket_id].is_reliable();
            guards.insert(client_id, ClientGuard::new(reliable));
            renet.add_connection(client_id, reliable);
            send(sockets, socket_id, addr, payload);
        }
        ServerResult::ClientDisconnected {
            client_id,
            addr,
            payload,
            socket_id,
        } => {
            guards.remove(&client_id);
            renet.remove_connection(client_id);
            if let Some(payload) = payload {
                send(sockets, socket_id, addr, payload);
            }
            sockets[socket_id].disconnect(addr);
        }
    }
}
