//! Misskey `aidx` ids: 16 characters of `[0-9a-z]` that sort by creation time.
//!
//! Layout: 8 characters of milliseconds since 2000-01-01 in base 36, 4 characters
//! of a node id chosen once per process, 4 characters of a per-process counter.
//! Creation times are derived from the id, as in Misskey.

use std::sync::atomic::{AtomicU32, Ordering};

/// Milliseconds between the Unix epoch and 2000-01-01T00:00:00Z.
const AIDX_EPOCH_MS: i64 = 946_684_800_000;
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const NODE_SPACE: u32 = 36 * 36 * 36 * 36;

/// Generates `aidx` ids for one process.
#[derive(Debug)]
pub struct IdGenerator {
    node: [u8; 4],
    counter: AtomicU32,
}

impl IdGenerator {
    /// `node_seed` picks the node part; pass a random number so that ids made by
    /// several processes in the same millisecond do not collide.
    pub fn new(node_seed: u32, counter_seed: u32) -> IdGenerator {
        let mut node = [0u8; 4];
        encode_base36(u64::from(node_seed % NODE_SPACE), &mut node);
        IdGenerator {
            node,
            counter: AtomicU32::new(counter_seed % NODE_SPACE),
        }
    }

    /// A new id for something created at `now_ms` (Unix epoch milliseconds).
    pub fn next(&self, now_ms: i64) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) % NODE_SPACE;
        let mut out = [0u8; 16];
        let since = (now_ms - AIDX_EPOCH_MS).max(0) as u64;
        encode_base36(since, &mut out[..8]);
        out[8..12].copy_from_slice(&self.node);
        encode_base36(u64::from(n), &mut out[12..]);
        // Every byte comes from BASE36, so the buffer is ASCII.
        String::from_utf8(out.to_vec()).expect("base36 is ASCII")
    }
}

/// The creation time (Unix epoch milliseconds) encoded in an `aidx` id.
pub fn created_at_ms(id: &str) -> Option<i64> {
    let head = id.get(..8)?;
    let since = i64::from_str_radix(head, 36).ok()?;
    Some(since + AIDX_EPOCH_MS)
}

/// Whether `s` is a well-formed Misskey id (`misskey:id` format: `^[a-zA-Z0-9]+$`).
pub fn is_misskey_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Writes `value` in base 36 into `out`, zero-padded, keeping the last digits.
fn encode_base36(mut value: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(value % 36) as usize];
        value /= 36;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sixteen_base36_characters_and_carry_their_time() {
        let ids = IdGenerator::new(12_345, 0);
        let now = 1_757_332_800_123;
        let id = ids.next(now);
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        );
        assert_eq!(created_at_ms(&id), Some(now));
    }

    #[test]
    fn ids_sort_by_time_and_differ_within_a_millisecond() {
        let ids = IdGenerator::new(7, 0);
        let a = ids.next(1_000_000_000_000);
        let b = ids.next(1_000_000_000_000);
        let c = ids.next(1_000_000_000_001);
        assert_ne!(a, b);
        assert!(a < c && b < c);
    }

    #[test]
    fn misskey_id_format() {
        for (input, ok) in [
            ("abc123", true),
            ("kyoppie", true),
            ("", false),
            ("foo-bar", false),
            ("a b", false),
        ] {
            assert_eq!(is_misskey_id(input), ok, "{input:?}");
        }
    }
}
