//! Packet guards: checks on raw datagrams and decrypted payloads from clients that
//! keep known panics and memory traps in netcode and renet (renet2 0.18; 1.0 has the
//! same code) out of reach of a remote sender. They live here, away from the
//! server's sockets and database, so the fuzzers build them alone.
//!
//! Raw datagrams (before netcode):
//! - the prefix byte holds the packet type (low nibble) and the length of the
//!   sequence number after it (high nibble); the decoder reads that many bytes into
//!   an 8-byte buffer, so a length above 8 panics, and an 8-byte sequence near
//!   `u64::MAX` overflows the replay window. Honest peers need at most 7 bytes
//!   (2^56 packets);
//! - a packet shorter than its header plus the 16-byte MAC makes the decrypter
//!   split a slice past its end. Both are reached from a connected client's address
//!   before authentication.
//!
//! Decrypted renet payloads (per connection, [`ClientGuard`]):
//! - renet reassembles sliced messages with a table sized by the *first* slice and
//!   indexes it with every later one, so slices that disagree on their count index
//!   out of bounds and drive renet's memory accounting below zero. No honest client
//!   slices: client messages are capped at [`MAX_CLIENT_MESSAGE`] bytes, far below
//!   renet's 1200-byte slice, so every slice packet is dropped;
//! - renet buffers reliable messages by id without a window, and counts only their
//!   bytes, so empty messages or far-future ids grow its maps without bound. Each
//!   message must be 1..=[`MAX_CLIENT_MESSAGE`] bytes, reliable ids must fall within
//!   [`ID_WINDOW`] of the oldest one not yet seen, and packet sequences within
//!   [`SEQUENCE_WINDOW`] of the newest.

use crate::protocol::{CHANNEL_RELIABLE, CHANNEL_UNRELIABLE, MAX_CLIENT_MESSAGE};

/// Largest sequence-number length in a netcode prefix that an honest peer writes.
const MAX_SEQUENCE_BYTES: u8 = 7;
/// Highest netcode packet type (connection request = 0 … disconnect = 6).
const MAX_NETCODE_PACKET_TYPE: u8 = 6;
/// Netcode's authentication tag after every packet but the connection request.
const MAC_BYTES: usize = 16;
/// Largest datagram netcode handles.
pub const MAX_DATAGRAM: usize = 1400;
/// renet packet types.
const SMALL_RELIABLE: u8 = 0;
const SMALL_UNRELIABLE: u8 = 1;
const RELIABLE_SLICE: u8 = 2;
const UNRELIABLE_SLICE: u8 = 3;
const ACK: u8 = 4;
/// Reliable message ids a client may run ahead of the oldest one not yet received.
pub const ID_WINDOW: u64 = 1024;
/// How far behind the newest renet packet sequence a late packet may be.
pub const SEQUENCE_WINDOW: u64 = 1024;

/// Why a packet was dropped, as counted in the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// A datagram whose netcode prefix is not a valid packet type and sequence length.
    NetcodePrefix,
    /// A datagram too short for its header and MAC, or too long for netcode.
    NetcodeLength,
    /// A renet slice packet: clients never need them.
    RenetSlice,
    /// A renet packet of an unknown type, for the wrong channel, or truncated.
    RenetHeader,
    /// A message that is empty or longer than any client message.
    RenetMessage,
    /// A reliable message id or packet sequence outside the window.
    RenetWindow,
}

impl Rejection {
    /// Label value in the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetcodePrefix => "netcode_prefix",
            Self::NetcodeLength => "netcode_length",
            Self::RenetSlice => "renet_slice",
            Self::RenetHeader => "renet_header",
            Self::RenetMessage => "renet_message",
            Self::RenetWindow => "renet_window",
        }
    }
}

/// Checks a raw datagram before the netcode decoder sees it.
pub fn check_netcode_packet(packet: &[u8]) -> Result<(), Rejection> {
    let Some(&prefix) = packet.first() else {
        return Err(Rejection::NetcodeLength);
    };
    let packet_type = prefix & 0x0f;
    let sequence_bytes = prefix >> 4;
    if packet_type > MAX_NETCODE_PACKET_TYPE || sequence_bytes > MAX_SEQUENCE_BYTES {
        return Err(Rejection::NetcodePrefix);
    }
    let shortest = if packet_type == 0 {
        1
    } else {
        1 + usize::from(sequence_bytes) + MAC_BYTES
    };
    if packet.len() < shortest || packet.len() > MAX_DATAGRAM {
        return Err(Rejection::NetcodeLength);
    }
    Ok(())
}

/// What one connection has sent so far, for the checks that span packets.
#[derive(Clone, Debug)]
pub struct ClientGuard {
    /// Over a reliable socket (WebSocket) renet downgrades every channel to
    /// unreliable: all messages come as small unreliable packets, on either channel.
    reliable_socket: bool,
    /// Newest renet packet sequence seen.
    newest_sequence: u64,
    /// Reliable message ids seen, as renet's ordered channel sees them.
    reliable: IdWindow,
}

impl ClientGuard {
    /// A guard for a new connection; `reliable_socket` as the socket reports it.
    pub fn new(reliable_socket: bool) -> Self {
        Self {
            reliable_socket,
            newest_sequence: 0,
            reliable: IdWindow::default(),
        }
    }

    /// Checks a decrypted renet payload before renet sees it: only small messages and
    /// acks, each on its channel, every message 1..=512 bytes, ids and sequence in
    /// their windows. Nothing is remembered of a packet that is dropped. What follows
    /// the messages (ack ranges) renet validates itself, without panics.
    pub fn check_renet_payload(&mut self, payload: &[u8]) -> Result<(), Rejection> {
        let Some((&packet_type, rest)) = payload.split_first() else {
            return Err(Rejection::RenetHeader);
        };
        let mut reader = Reader(rest);
        let reliable = match packet_type {
            RELIABLE_SLICE | UNRELIABLE_SLICE => return Err(Rejection::RenetSlice),
            SMALL_RELIABLE => true,
            SMALL_UNRELIABLE | ACK => false,
            _ => return Err(Rejection::RenetHeader),
        };
        let sequence = reader.varint().ok_or(Rejection::RenetHeader)?;
        if sequence.saturating_add(SEQUENCE_WINDOW) < self.newest_sequence {
            return Err(Rejection::RenetWindow);
        }
        if packet_type != ACK {
            let channel = reader.byte().ok_or(Rejection::RenetHeader)?;
            let expected = match (self.reliable_socket, reliable) {
                (false, true) => channel == CHANNEL_RELIABLE,
                (false, false) => channel == CHANNEL_UNRELIABLE,
                (true, true) => false,
                (true, false) => channel == CHANNEL_RELIABLE || channel == CHANNEL_UNRELIABLE,
            };
            if !expected {
                return Err(Rejection::RenetHeader);
            }
            let count = reader.u16().ok_or(Rejection::RenetHeader)?;
            // Check every message before remembering any id.
            let messages = reader.0;
            let window = &self.reliable;
            walk_messages(messages, count, reliable, |id| window.admits(id), |_| {})?;
            walk_messages(
                messages,
                count,
                reliable,
                |_| true,
                |id| {
                    self.reliable.mark(id);
                },
            )?;
        }
        self.newest_sequence = self.newest_sequence.max(sequence);
        Ok(())
    }
}

/// Walks `count` messages of a small-message packet, checking each and handing
/// every reliable id that `admits` accepts to `each_id`.
fn walk_messages(
    bytes: &[u8],
    count: u16,
    reliable: bool,
    admits: impl Fn(u64) -> bool,
    mut each_id: impl FnMut(u64),
) -> Result<(), Rejection> {
    let mut reader = Reader(bytes);
    for _ in 0..count {
        if reliable {
            let id = reader.varint().ok_or(Rejection::RenetHeader)?;
            if !admits(id) {
                return Err(Rejection::RenetWindow);
            }
            each_id(id);
        }
        let len = reader.varint().ok_or(Rejection::RenetHeader)?;
        if len == 0 || len > MAX_CLIENT_MESSAGE as u64 {
            return Err(Rejection::RenetMessage);
        }
        reader.skip(len).ok_or(Rejection::RenetHeader)?;
    }
    Ok(())
}

/// Which reliable ids have arrived, from the oldest missing one up.
#[derive(Clone, Debug, Default)]
struct IdWindow {
    /// The oldest id not yet seen.
    next: u64,
    /// Ids `next..next + ID_WINDOW` seen, as a ring indexed by `id % ID_WINDOW`.
    seen: [u64; (ID_WINDOW / 64) as usize],
}

impl IdWindow {
    fn admits(&self, id: u64) -> bool {
        id < self.next.saturating_add(ID_WINDOW)
    }

    fn bit(id: u64) -> (usize, u64) {
        let slot = id % ID_WINDOW;
        ((slot / 64) as usize, 1 << (slot % 64))
    }

    /// Records `id` (which [`Self::admits`]) and moves past every id now complete.
    fn mark(&mut self, id: u64) {
        if id < self.next {
            return;
        }
        let (word, bit) = Self::bit(id);
        self.seen[word] |= bit;
        loop {
            let (word, bit) = Self::bit(self.next);
            if self.seen[word] & bit == 0 {
                break;
            }
            self.seen[word] &= !bit;
            self.next += 1;
        }
    }
}

const _: () = assert!(
    MAX_CLIENT_MESSAGE < 1200,
    "client messages must stay below renet's slice size, or honest clients would slice"
);

/// Reads QUIC-style variable-length integers, as renet writes them.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }

    fn skip(&mut self, len: u64) -> Option<()> {
        let len = usize::try_from(len).ok()?;
        self.0 = self.0.get(len..)?;
        Some(())
    }

    fn varint(&mut self) -> Option<u64> {
        let first = self.byte()?;
        let extra = (1usize << (first >> 6)) - 1;
        let mut value = u64::from(first & 0x3f);
        for _ in 0..extra {
            value = (value << 8) | u64::from(self.byte()?);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(out: &mut Vec<u8>, value: u64) {
        if value < 64 {
            out.push(value as u8);
        } else {
            out.extend_from_slice(&(value as u16 | 0x4000).to_be_bytes());
        }
    }

    /// A SmallReliable packet on channel 0 with messages `(id, len)`.
    fn reliable(sequence: u64, messages: &[(u64, usize)]) -> Vec<u8> {
        let mut packet = vec![SMALL_RELIABLE];
        varint(&mut packet, sequence);
        packet.push(CHANNEL_RELIABLE);
        packet.extend_from_slice(&(messages.len() as u16).to_be_bytes());
        for &(id, len) in messages {
            varint(&mut packet, id);
            varint(&mut packet, len as u64);
            packet.extend(std::iter::repeat_n(7, len));
        }
        packet.push(0); // no ack ranges
        packet
    }

    #[test]
    fn bad_netcode_prefixes_are_rejected() {
        // Payload packets (type 4) claiming 8, 9 and 15 sequence bytes, an unknown type.
        for bad in [0x84u8, 0x94, 0xf4, 0x0f] {
            assert_eq!(
                check_netcode_packet(&[bad; 40]),
                Err(Rejection::NetcodePrefix),
                "{bad:#x}"
            );
        }
        // Legitimate prefixes: a connection request, and sequences of 0–7 bytes.
        assert_eq!(check_netcode_packet(&[0x00; 1078]), Ok(()));
        for bytes in 0..=7u8 {
            let packet = vec![(bytes << 4) | 4; 1 + usize::from(bytes) + 16 + 5];
            assert_eq!(check_netcode_packet(&packet), Ok(()), "{bytes} bytes");
        }
    }

    #[test]
    fn datagrams_shorter_than_header_and_mac_or_longer_than_netcode_are_rejected() {
        assert_eq!(check_netcode_packet(&[]), Err(Rejection::NetcodeLength));
        // 7 sequence bytes need 1 + 7 + 16 = 24 bytes: 18 is what panicked.
        assert_eq!(
            check_netcode_packet(&[0x74; 18]),
            Err(Rejection::NetcodeLength)
        );
        assert_eq!(check_netcode_packet(&[0x74; 24]), Ok(()));
        assert_eq!(
            check_netcode_packet(&[0x24; 18]),
            Err(Rejection::NetcodeLength)
        );
        assert_eq!(check_netcode_packet(&[0x24; 19]), Ok(()));
        assert_eq!(
            check_netcode_packet(&[0x14; 1401]),
            Err(Rejection::NetcodeLength)
        );
    }

    /// A slice packet as renet writes it, with a full 1200-byte payload.
    fn full_slice(sequence: u64, index: u64, count: u64) -> Vec<u8> {
        let mut packet = vec![RELIABLE_SLICE];
        varint(&mut packet, sequence);
        packet.push(CHANNEL_RELIABLE);
        for value in [0, index, count, 1200] {
            varint(&mut packet, value);
        }
        packet.extend(std::iter::repeat_n(0xA5, 1200));
        packet
    }

    /// The pair the fuzzer (`renet_payload` with the guard taken out) and a reading
    /// of renet2 found: it still panics renet2 itself, and stops here.
    #[test]
    fn the_slice_pair_that_panics_renet_is_stopped_here() {
        use renet2::RenetServer;

        let pair = [full_slice(1, 0, 2), full_slice(2, 100, 200)];
        let feed = |guard: Option<&mut ClientGuard>| {
            let mut server = RenetServer::new(crate::protocol::connection_config());
            server.add_connection(1, false);
            let mut guard = guard;
            for packet in &pair {
                let passes = guard
                    .as_deref_mut()
                    .is_none_or(|g| g.check_renet_payload(packet).is_ok());
                if passes {
                    let _ = server.process_packet_from(packet, 1);
                }
            }
            server.update(std::time::Duration::from_millis(16));
        };
        let unguarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| feed(None)));
        assert!(unguarded.is_err(), "renet2 no longer panics on this pair");
        let mut guard = ClientGuard::new(false);
        feed(Some(&mut guard));
        for packet in &pair {
            assert_eq!(
                guard.check_renet_payload(packet),
                Err(Rejection::RenetSlice)
            );
        }
    }

    #[test]
    fn every_slice_is_rejected_even_a_well_formed_one() {
        let mut guard = ClientGuard::new(false);
        // type, seq=1, channel=0, message id=0, slice index 0 of 2, length 1, payload.
        assert_eq!(
            guard.check_renet_payload(&[2, 1, 0, 0, 0, 2, 1, 0xAA]),
            Err(Rejection::RenetSlice)
        );
        assert_eq!(
            guard.check_renet_payload(&[3, 1, 1, 0, 1, 2, 1, 0xAA]),
            Err(Rejection::RenetSlice)
        );
    }

    #[test]
    fn small_messages_and_acks_on_their_channels_pass() {
        let mut guard = ClientGuard::new(false);
        assert_eq!(
            guard.check_renet_payload(&reliable(1, &[(0, 3), (1, 512)])),
            Ok(())
        );
        // SmallUnreliable, two-byte sequence, channel 1, one message of 2 bytes.
        assert_eq!(
            guard.check_renet_payload(&[1, 0x40, 0x2c, 1, 0, 1, 2, 9, 9]),
            Ok(())
        );
        assert_eq!(guard.check_renet_payload(&[4, 7, 0]), Ok(()));
    }

    #[test]
    fn unknown_types_wrong_channels_and_truncations_are_rejected() {
        let mut guard = ClientGuard::new(false);
        for bad in [
            &[][..],
            &[5, 1, 0],
            &[0xff, 1, 0],
            &[0, 1, 1, 0, 1, 0, 1, 7],
            &[1, 1, 0, 0, 1, 1, 7],
            &[0],
            &[0, 0x41],
            &[0, 1, 0, 0, 2, 0, 1, 7],
        ] {
            assert_eq!(
                guard.check_renet_payload(bad),
                Err(Rejection::RenetHeader),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn over_a_reliable_socket_both_channels_come_unreliable() {
        let mut guard = ClientGuard::new(true);
        assert_eq!(guard.check_renet_payload(&[1, 1, 0, 0, 1, 2, 9, 9]), Ok(()));
        assert_eq!(guard.check_renet_payload(&[1, 2, 1, 0, 1, 2, 9, 9]), Ok(()));
        assert_eq!(
            guard.check_renet_payload(&reliable(3, &[(0, 1)])),
            Err(Rejection::RenetHeader),
            "no reliable packets over a reliable socket"
        );
        assert_eq!(
            guard.check_renet_payload(&[1, 4, 0, 0, 1, 0]),
            Err(Rejection::RenetMessage)
        );
    }

    #[test]
    fn empty_and_oversized_messages_are_rejected() {
        let mut guard = ClientGuard::new(false);
        for len in [0, 513] {
            assert_eq!(
                guard.check_renet_payload(&reliable(1, &[(0, 3), (1, len)])),
                Err(Rejection::RenetMessage),
                "length {len}"
            );
        }
        // Nothing of a dropped packet is remembered: id 0 is still missing.
        assert_eq!(guard.reliable.next, 0);
    }

    #[test]
    fn reliable_ids_stay_within_the_window_of_the_oldest_missing_one() {
        let mut guard = ClientGuard::new(false);
        assert_eq!(
            guard.check_renet_payload(&reliable(1, &[(ID_WINDOW, 1)])),
            Err(Rejection::RenetWindow)
        );
        assert_eq!(
            guard.check_renet_payload(&reliable(1, &[(ID_WINDOW - 1, 1)])),
            Ok(())
        );
        // Ids 0..10 arrive out of order: the window slides past all of them.
        for id in (0..10).rev() {
            assert_eq!(
                guard.check_renet_payload(&reliable(2 + id, &[(id, 1)])),
                Ok(())
            );
        }
        assert_eq!(guard.reliable.next, 10);
        assert_eq!(
            guard.check_renet_payload(&reliable(20, &[(ID_WINDOW + 9, 1)])),
            Ok(()),
            "the window moved with the ids"
        );
        // Resends of old ids are renet's duplicates to drop, not ours.
        assert_eq!(guard.check_renet_payload(&reliable(21, &[(3, 1)])), Ok(()));
    }

    #[test]
    fn packets_far_behind_the_newest_sequence_are_rejected() {
        let mut guard = ClientGuard::new(false);
        assert_eq!(guard.check_renet_payload(&[4, 0x50, 0x00, 0]), Ok(()));
        assert_eq!(
            guard.check_renet_payload(&[4, 0x40, 0x10, 0]),
            Err(Rejection::RenetWindow),
            "sequence 16 is 4080 behind 4096"
        );
        assert_eq!(guard.check_renet_payload(&[4, 0x4c, 0x00, 0]), Ok(()));
    }
}
