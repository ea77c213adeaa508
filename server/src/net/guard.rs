//! Packet guards: checks on raw datagrams and decrypted payloads that keep known
//! panics in netcode and renet (renet2 0.18) out of reach of a remote sender.
//!
//! - A netcode packet's prefix byte holds the packet type (low nibble) and the
//!   length of the sequence number that follows (high nibble). The decoder reads that
//!   many bytes into an 8-byte buffer, so a claimed length above 8 panics before the
//!   packet is even authenticated: anyone who can send a datagram from a connected
//!   client's address could take the server down.
//! - A renet slice packet carries `slice_index` and `num_slices`; the reassembler
//!   indexes its slice table with the former after checking only the latter, so an
//!   authenticated client sending `slice_index ≥ num_slices` panics the server.
//!
//! Both are rejected here, before the crates see them, and counted.

/// Largest valid sequence-number length in a netcode prefix byte.
const MAX_SEQUENCE_BYTES: u8 = 8;
/// Highest netcode packet type (connection request = 0 … disconnect = 6).
const MAX_NETCODE_PACKET_TYPE: u8 = 6;
/// renet packet types that carry a slice of a large message.
const RELIABLE_SLICE: u8 = 2;
const UNRELIABLE_SLICE: u8 = 3;

/// Whether a raw datagram is safe to hand to the netcode decoder.
pub fn netcode_packet_is_safe(packet: &[u8]) -> bool {
    let Some(&prefix) = packet.first() else {
        return false;
    };
    let packet_type = prefix & 0x0f;
    let sequence_bytes = prefix >> 4;
    packet_type <= MAX_NETCODE_PACKET_TYPE && sequence_bytes <= MAX_SEQUENCE_BYTES
}

/// Whether a decrypted renet payload is safe to hand to renet.
pub fn renet_payload_is_safe(payload: &[u8]) -> bool {
    let Some((&packet_type, rest)) = payload.split_first() else {
        return false;
    };
    if packet_type != RELIABLE_SLICE && packet_type != UNRELIABLE_SLICE {
        return true;
    }
    // type, sequence (varint), channel (u8), message id, slice index, slice count (varints)
    let mut reader = Reader(rest);
    let header = (|| {
        reader.varint()?;
        reader.byte()?;
        reader.varint()?;
        Some((reader.varint()?, reader.varint()?))
    })();
    matches!(header, Some((index, count)) if index < count)
}

/// Reads QUIC-style variable-length integers, as renet writes them.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
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

    #[test]
    fn netcode_prefixes_with_long_sequences_are_rejected() {
        // Payload packet (type 4) claiming 9 and 15 sequence bytes: the panicking inputs.
        assert!(!netcode_packet_is_safe(&[0x94; 40]));
        assert!(!netcode_packet_is_safe(&[0xf4; 40]));
        assert!(!netcode_packet_is_safe(&[0x0f; 40]), "unknown packet type");
        assert!(!netcode_packet_is_safe(&[]));
        // Legitimate prefixes: a connection request, and sequences of 0–8 bytes.
        assert!(netcode_packet_is_safe(&[0x00; 40]));
        for bytes in 0..=8u8 {
            assert!(netcode_packet_is_safe(&[(bytes << 4) | 4, 0, 0]));
        }
    }

    #[test]
    fn slices_with_an_index_past_their_count_are_rejected() {
        // type, seq=1, channel=0, message id=0, slice index, slice count, ...
        assert!(renet_payload_is_safe(&[2, 1, 0, 0, 0, 2, 1, 0xAA]));
        assert!(renet_payload_is_safe(&[3, 1, 0, 0, 1, 2, 1, 0xAA]));
        assert!(!renet_payload_is_safe(&[2, 1, 0, 0, 2, 2, 1, 0xAA]));
        assert!(!renet_payload_is_safe(&[3, 1, 0, 0, 5, 1, 1, 0xAA]));
        // Two-byte varint index 300 against a count of 2.
        assert!(!renet_payload_is_safe(&[
            2, 1, 0, 0, 0x41, 0x2c, 2, 1, 0xAA
        ]));
        assert!(!renet_payload_is_safe(&[2, 1]), "truncated slice header");
        assert!(!renet_payload_is_safe(&[]));
        // Other packet types pass through to renet's own checks.
        assert!(renet_payload_is_safe(&[0, 1, 0, 0, 0]));
    }
}
