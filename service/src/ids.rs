//! Primary keys, generated in Rust as Prisma's `@default(cuid())` would.
//!
//! A cuid-style id: `c`, then base-36 milliseconds since the epoch (8
//! digits), a per-process counter (4), a fingerprint of host and process
//! (4) and 64 random bits (13), 30 characters in all, lowercase
//! alphanumeric. Ids from one process sort by creation time; collisions
//! need the same millisecond, counter value, fingerprint and 64 random
//! bits.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u64, width: usize, out: &mut String) {
    let mut buf = vec![b'0'; width];
    for slot in buf.iter_mut().rev() {
        *slot = ALPHABET[(n % 36) as usize];
        n /= 36;
    }
    out.extend(buf.into_iter().map(char::from));
}

fn fingerprint() -> u64 {
    static FINGERPRINT: OnceLock<u64> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in host.bytes().chain(std::process::id().to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^ rand::random::<u64>()
    })
}

/// A new collision-resistant id.
pub fn new_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut id = String::with_capacity(30);
    id.push('c');
    base36(millis, 8, &mut id);
    base36(u64::from(count), 4, &mut id);
    base36(fingerprint(), 4, &mut id);
    base36(rand::random::<u64>(), 13, &mut id);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_lowercase_and_fixed_length() {
        let ids: HashSet<String> = (0..100_000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 100_000);
        for id in ids.iter().take(100) {
            assert_eq!(id.len(), 30);
            assert!(id.starts_with('c'));
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            );
        }
    }
}
