//! A hostile client: a real netcode session (UDP or WebSocket) without renet on top,
//! so it can seal any payload the server will decrypt and send any datagram from
//! its connected address. The attacks the server must survive are built here once,
//! for the end-to-end tests and for `galaxy-hostile` against a running server.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use renet2_netcode::{ClientSocket, NativeSocket};
use renetcode2::{ClientAuthentication, NETCODE_MAX_PACKET_BYTES, NetcodeClient};

use crate::bot::{Login, Transport, ws_server_of};
use crate::ws_socket::WsClientSocket;

/// renet's slice size: a full slice carries this many bytes.
pub const SLICE_BYTES: usize = 1200;

/// A connected netcode session that sends what it is told.
pub struct Hostile {
    transport: Transport,
    netcode: NetcodeClient,
    socket: Box<dyn ClientSocket>,
    buffer: Box<[u8; NETCODE_MAX_PACKET_BYTES]>,
    last: Instant,
}

impl Hostile {
    /// Connects with a login's token over `transport`, waiting up to `timeout`.
    pub fn connect(login: &Login, transport: Transport, timeout: Duration) -> Result<Self, String> {
        let token = login.connect_token(transport)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?;
        let socket: Box<dyn ClientSocket> = match transport {
            Transport::Udp => Box::new(
                NativeSocket::new(UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?,
            ),
            Transport::WebSocket => Box::new(WsClientSocket::new(ws_server_of(login)?)),
        };
        let netcode = NetcodeClient::new(
            now,
            ClientAuthentication::Secure {
                connect_token: token,
            },
        )
        .map_err(|e| e.to_string())?
        .set_encryption_policy(!socket.is_encrypted());
        let mut hostile = Self {
            transport,
            netcode,
            socket,
            buffer: Box::new([0; NETCODE_MAX_PACKET_BYTES]),
            last: Instant::now(),
        };
        let deadline = Instant::now() + timeout;
        while !hostile.netcode.is_connected() && Instant::now() < deadline {
            hostile.pump();
            std::thread::sleep(Duration::from_millis(5));
        }
        if hostile.netcode.is_connected() {
            Ok(hostile)
        } else {
            Err(format!(
                "netcode session over {transport:?} did not connect: {:?}",
                hostile.netcode.disconnect_reason()
            ))
        }
    }

    /// Receives what the server sent (and drops it) and sends keep-alives.
    pub fn pump(&mut self) {
        self.socket.preupdate();
        while let Ok((len, _)) = self.socket.try_recv(&mut self.buffer[..]) {
            let _ = self.netcode.process_packet(&mut self.buffer[..len]);
        }
        if let Some((packet, addr)) = self.netcode.update(self.last.elapsed()) {
            let _ = self.socket.send(addr, packet);
        }
        self.last = Instant::now();
        self.socket.postupdate();
    }

    /// Whether netcode still holds the session open.
    pub fn is_connected(&self) -> bool {
        self.netcode.is_connected()
    }

    /// Seals `payload` as a netcode payload packet, as renet's would be.
    pub fn send_payload(&mut self, payload: &[u8]) -> Result<(), String> {
        let (addr, packet) = self
            .netcode
            .generate_payload_packet(payload)
            .map_err(|e| e.to_string())?;
        self.socket.send(addr, packet).map_err(|e| e.to_string())?;
        self.socket.postupdate();
        Ok(())
    }

    /// Sends `bytes` as they are, from the session's own address.
    pub fn send_datagram(&mut self, bytes: &[u8]) -> Result<(), String> {
        let addr: SocketAddr = self.netcode.server_addr();
        self.socket.send(addr, bytes).map_err(|e| e.to_string())?;
        self.socket.postupdate();
        Ok(())
    }
}

/// Appends `value` as a QUIC variable-length integer, as renet writes them.
pub fn put_varint(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0x3f => out.push(value as u8),
        0x40..=0x3fff => out.extend_from_slice(&(value as u16 | 0x4000).to_be_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&(value as u32 | 0x8000_0000).to_be_bytes()),
        _ => out.extend_from_slice(&(value | 0xc000_0000_0000_0000).to_be_bytes()),
    }
}

/// A renet slice packet (reliable or not) with a full-size payload.
pub fn slice_packet(
    reliable: bool,
    sequence: u64,
    channel: u8,
    message_id: u64,
    slice_index: u64,
    num_slices: u64,
) -> Vec<u8> {
    let mut packet = vec![if reliable { 2 } else { 3 }];
    put_varint(&mut packet, sequence);
    packet.push(channel);
    put_varint(&mut packet, message_id);
    put_varint(&mut packet, slice_index);
    put_varint(&mut packet, num_slices);
    put_varint(&mut packet, SLICE_BYTES as u64);
    packet.extend(std::iter::repeat_n(0xA5, SLICE_BYTES));
    packet
}

/// Two slices of one message that disagree on the slice count: renet sizes its
/// table from the first (2 slices) and indexes it with the second (index 100), and
/// counts the second's larger size against memory it never reserved.
pub fn disagreeing_slices(reliable: bool, channel: u8, first_sequence: u64) -> [Vec<u8>; 2] {
    [
        slice_packet(reliable, first_sequence, channel, 0, 0, 2),
        slice_packet(reliable, first_sequence + 1, channel, 0, 100, 200),
    ]
}

/// A SmallReliable packet on channel 0 holding `count` messages of `len` bytes
/// with ids from `first_id` on: empty ones or far-future ids grow renet's buffers.
pub fn reliable_messages(sequence: u64, first_id: u64, count: u16, len: usize) -> Vec<u8> {
    small_messages(true, sequence, Some(first_id), count, len)
}

/// A SmallUnreliable packet on channel 0 (what a WebSocket client sends, renet having
/// downgraded its channels) holding `count` messages of `len` bytes.
pub fn unreliable_messages(sequence: u64, count: u16, len: usize) -> Vec<u8> {
    small_messages(false, sequence, None, count, len)
}

fn small_messages(
    reliable: bool,
    sequence: u64,
    first_id: Option<u64>,
    count: u16,
    len: usize,
) -> Vec<u8> {
    let mut packet = vec![u8::from(!reliable)];
    put_varint(&mut packet, sequence);
    packet.push(0);
    packet.extend_from_slice(&count.to_be_bytes());
    for i in 0..u64::from(count) {
        if let Some(first) = first_id {
            put_varint(&mut packet, first + i * 2);
        }
        put_varint(&mut packet, len as u64);
        packet.extend(std::iter::repeat_n(0x5A, len));
    }
    packet.push(0);
    packet
}

/// Datagrams netcode's decoder cannot take, sent from a connected address: prefixes
/// claiming 8–15 sequence bytes (8 overflows the replay window at the top of u64),
/// an unknown packet type, and packets shorter than their header and MAC.
pub fn hostile_datagrams() -> Vec<Vec<u8>> {
    let mut datagrams: Vec<Vec<u8>> = [0x94u8, 0xf4, 0xa4, 0x9c]
        .iter()
        .map(|&prefix| {
            let mut datagram = vec![prefix; 1_100];
            datagram[1..9].copy_from_slice(&[0xff; 8]);
            datagram
        })
        .collect();
    let overflowing = [vec![0x84], vec![0xff; 8], vec![0; 16]].concat();
    let short_long_sequence = [vec![0x84, 1, 0, 0, 0, 0, 0, 0, 0], vec![0; 9]].concat();
    let short = [vec![0x24, 1, 0], vec![0; 15]].concat();
    let short_seven = [vec![0x74, 1, 0, 0, 0, 0, 0, 0], vec![0; 12]].concat();
    datagrams.extend([overflowing, short_long_sequence, short, short_seven]);
    datagrams
}

/// What [`attack`] sent, by the guard check that must drop it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Slice packets (`renet_slice`).
    pub slices: u32,
    /// Packets with an empty message (`renet_message`).
    pub empty_messages: u32,
    /// Packets with a reliable id far past the window (`renet_window`).
    pub far_ids: u32,
    /// Packets of a type the connection's socket never carries (`renet_header`).
    pub wrong_type: u32,
    /// Datagrams with a bad prefix or length (`netcode_prefix` + `netcode_length`).
    pub bad_datagrams: u32,
}

/// Sends every known hostile sequence over a connected session: disagreeing
/// full-size slices on both channels, reliable and unreliable; a packet of 300 empty
/// messages; over UDP a far-future reliable id, over WebSocket a reliable packet
/// (renet carries none there); and the [`hostile_datagrams`].
pub fn attack(hostile: &mut Hostile) -> Result<Sent, String> {
    let mut sent = Sent::default();
    let mut sequence = 1;
    for reliable in [true, false] {
        for channel in [0, 1] {
            for packet in disagreeing_slices(reliable, channel, sequence) {
                hostile.send_payload(&packet)?;
                sent.slices += 1;
            }
            sequence += 2;
        }
    }
    match hostile.transport {
        Transport::Udp => {
            hostile.send_payload(&reliable_messages(sequence, 0, 300, 0))?;
            hostile.send_payload(&reliable_messages(sequence + 1, 1 << 40, 1, 1))?;
            sent.far_ids += 1;
        }
        Transport::WebSocket => {
            hostile.send_payload(&unreliable_messages(sequence, 300, 0))?;
            hostile.send_payload(&reliable_messages(sequence + 1, 0, 1, 1))?;
            sent.wrong_type += 1;
        }
    }
    sent.empty_messages += 1;
    for datagram in hostile_datagrams() {
        hostile.send_datagram(&datagram)?;
        sent.bad_datagrams += 1;
    }
    Ok(sent)
}
