//! UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Time-ordered, which is
//! what the edge's dedupe index is laid out for, and unique without coordination.

use alloc::string::String;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Formats a UUIDv7 from a clock reading and 10 random bytes (from `crypto.getRandomValues` in
/// the browser). Hand-written rather than `format!`: a fixed layout needs no formatter.
pub fn uuid_v7(unix_ms: u64, random: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    // Zipped rather than sliced: no length check to panic on in the wasm.
    let time = unix_ms.to_be_bytes().into_iter().skip(2);
    for (slot, byte) in b.iter_mut().zip(time.chain(random)) {
        *slot = byte;
    }
    b[6] = 0x70 | (b[6] & 0x0f); // version 7
    b[8] = 0x80 | (b[8] & 0x3f); // variant 10
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_v7_layout_and_sorts_by_time() {
        let a = uuid_v7(0x0193_a1b2_c3d4, [0xff; 10]);
        assert_eq!(a, "0193a1b2-c3d4-7fff-bfff-ffffffffffff");
        let b = uuid_v7(0x0193_a1b2_c3d5, [0; 10]);
        assert_eq!(b, "0193a1b2-c3d5-7000-8000-000000000000");
        assert!(a < b);
    }

    #[test]
    fn is_a_valid_tracker_and_message_id() {
        let id = uuid_v7(1_764_000_000_000, [7; 10]);
        assert!(footprint_protocol::TrackerId::new(id.clone()).is_ok());
        assert!(footprint_protocol::MessageId::new(id).is_ok());
    }
}
