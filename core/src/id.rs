//! Node ids (R12): a few random bytes, shown as unpadded standard base64.

use alloc::string::String;
use core::fmt;

/// How many random bytes a node id has (R12): 1 to 8, 3 by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdBytes(u8);

impl IdBytes {
    /// The largest supported id size, in bytes.
    pub const MAX: u8 = 8;

    /// Validates an id size.
    pub fn new(bytes: u8) -> Result<Self, InvalidIdBytes> {
        if (1..=Self::MAX).contains(&bytes) {
            Ok(IdBytes(bytes))
        } else {
            Err(InvalidIdBytes {
                requested: bytes as u64,
            })
        }
    }

    /// Parses an id size as given in an environment variable such as
    /// `ACTRACE_ID_BYTES`.
    pub fn parse(text: &str) -> Result<Self, InvalidIdBytes> {
        let requested: u64 = text.trim().parse().map_err(|_| InvalidIdBytes {
            requested: u64::MAX,
        })?;
        u8::try_from(requested)
            .ok()
            .and_then(|b| IdBytes::new(b).ok())
            .ok_or(InvalidIdBytes { requested })
    }

    /// The size in bytes.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for IdBytes {
    fn default() -> Self {
        IdBytes(3)
    }
}

/// An id size outside 1..=8 bytes, or text that is not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidIdBytes {
    requested: u64,
}

impl fmt::Display for InvalidIdBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requested == u64::MAX {
            write!(
                f,
                "id size is not a whole number of bytes (expected 1 to {})",
                IdBytes::MAX
            )
        } else {
            write!(
                f,
                "id size {} is out of range (expected 1 to {} bytes)",
                self.requested,
                IdBytes::MAX
            )
        }
    }
}

impl core::error::Error for InvalidIdBytes {}

/// The id of a task or span: `len` random bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId {
    bits: u64,
    len: u8,
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl NodeId {
    /// Appends the id in unpadded standard base64 to `out`.
    pub fn write_base64(&self, out: &mut String) {
        let (buf, len) = self.base64();
        // The alphabet is ASCII.
        out.push_str(core::str::from_utf8(&buf[..len]).unwrap_or_default());
    }

    /// The id in unpadded standard base64, as bytes in a buffer of their own
    /// (at most 11 of its 12 bytes are used).
    pub fn base64(&self) -> ([u8; 12], usize) {
        let mut buf = [0u8; 12];
        let mut len = 0;
        let bytes = self.bits.to_be_bytes();
        let bytes = &bytes[8 - self.len as usize..];
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..chunk.len() + 1 {
                buf[len] = BASE64[(n >> (18 - 6 * i)) as usize & 63];
                len += 1;
            }
        }
        (buf, len)
    }

    /// The raw bits, for adapters that store ids compactly.
    pub fn bits(&self) -> u64 {
        self.bits
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(12);
        self.write_base64(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A small deterministic generator of node ids (splitmix64).
///
/// Ids need not be cryptographically random (R12), only unlikely to repeat;
/// the seed comes from the adapter so that tests can replay a run exactly.
#[derive(Clone, Debug)]
pub struct IdGen {
    state: u64,
    bytes: IdBytes,
}

impl IdGen {
    /// A generator of ids of `bytes` bytes, starting from `seed`.
    pub fn new(seed: u64, bytes: IdBytes) -> Self {
        IdGen { state: seed, bytes }
    }

    /// The next random 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next id.
    pub fn next_id(&mut self) -> NodeId {
        let len = self.bytes.get();
        let mask = if len == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * len)) - 1
        };
        NodeId {
            bits: self.next_u64() & mask,
            len,
        }
    }

    /// An independent generator seeded from this one, e.g. one per task.
    pub fn fork(&mut self) -> IdGen {
        IdGen::new(self.next_u64(), self.bytes)
    }

    /// The id the `n`-th call of [`IdGen::next_id`] would return (counting
    /// from 1), without advancing: splitmix64 steps its state by a constant,
    /// so any step can be reached at once. A span's id is worked out this way
    /// only when someone asks for it.
    pub fn nth_id(&self, n: u64) -> NodeId {
        let mut at = IdGen::new(
            self.state
                .wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(n.wrapping_sub(1))),
            self.bytes,
        );
        at.next_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn r12_default_id_is_three_bytes_as_four_base64_chars() {
        let mut ids = IdGen::new(7, IdBytes::default());
        for _ in 0..100 {
            let id = ids.next_id().to_string();
            assert_eq!(id.len(), 4, "{id}");
            assert!(id.bytes().all(|b| BASE64.contains(&b)), "{id}");
        }
    }

    #[test]
    fn r12_id_length_follows_configured_bytes_unpadded() {
        // n bytes give ceil(4n/3) characters, never '='.
        for (bytes, chars) in [(1, 2), (2, 3), (3, 4), (4, 6), (5, 7), (6, 8), (8, 11)] {
            let mut ids = IdGen::new(1, IdBytes::new(bytes).unwrap());
            let id = ids.next_id().to_string();
            assert_eq!(id.len(), chars, "{bytes} bytes gave {id}");
            assert!(!id.contains('='));
        }
    }

    #[test]
    fn r12_base64_matches_known_encoding() {
        let id = NodeId {
            bits: 0x00_4d_61_6e,
            len: 3,
        };
        assert_eq!(id.to_string(), "TWFu");
        let id = NodeId { bits: 0xff, len: 1 };
        assert_eq!(id.to_string(), "/w");
    }

    #[test]
    fn r12_id_bytes_rejects_zero_and_too_large() {
        assert!(IdBytes::new(0).is_err());
        assert!(IdBytes::new(9).is_err());
        assert_eq!(IdBytes::parse(" 5 ").unwrap().get(), 5);
        let err = IdBytes::parse("lots").unwrap_err().to_string();
        assert!(err.contains("not a whole number"), "{err}");
        let err = IdBytes::parse("300").unwrap_err().to_string();
        assert!(err.contains("300"), "{err}");
    }

    #[test]
    fn r12_nth_id_is_what_next_id_returns_at_that_call() {
        let start = IdGen::new(99, IdBytes::new(5).unwrap());
        let mut ids = start.clone();
        for n in 1..=200 {
            assert_eq!(start.nth_id(n), ids.next_id(), "call {n}");
        }
    }

    #[test]
    fn r12_ids_rarely_repeat() {
        let mut ids = IdGen::new(42, IdBytes::default());
        let mut seen = alloc::collections::BTreeSet::new();
        for _ in 0..1000 {
            seen.insert(ids.next_id().bits());
        }
        // 1000 draws from 2^24 values: a handful of collisions at most.
        assert!(seen.len() > 990, "{}", seen.len());
    }
}
