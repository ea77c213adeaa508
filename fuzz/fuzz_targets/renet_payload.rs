//! Decrypted payloads of one connected client, through our per-connection guard into
//! renet, as the server's transport hands them over, then a frame of renet's update
//! and message reads. The input is a sequence of packets, each prefixed by a
//! two-byte length (after a byte choosing the socket), so multi-packet sequences (two slices of one message) are found.
#![no_main]

use std::time::Duration;

use galaxy_shared::guard::ClientGuard;
use galaxy_shared::protocol::{CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, connection_config};
use libfuzzer_sys::fuzz_target;
use renet2::RenetServer;

const CLIENT: u64 = 7;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the socket: UDP, or WebSocket (renet's channels downgraded).
    let Some((&socket, mut rest)) = data.split_first() else {
        return;
    };
    let reliable_socket = socket & 1 == 1;
    let mut server = RenetServer::new(connection_config());
    server.add_connection(CLIENT, reliable_socket);
    let mut guard = ClientGuard::new(reliable_socket);
    while let [high, low, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*high, *low])).min(tail.len());
        let (packet, tail) = tail.split_at(len);
        rest = tail;
        if guard.check_renet_payload(packet).is_ok() {
            let _ = server.process_packet_from(packet, CLIENT);
        }
        server.update(Duration::from_millis(16));
        for channel in [CHANNEL_RELIABLE, CHANNEL_UNRELIABLE] {
            while server.receive_message(CLIENT, channel).is_some() {}
        }
        if !server.is_connected(CLIENT) {
            return;
        }
    }
});
