//! JSON string literals: finding out, eight bytes at a time, whether a name
//! needs escaping at all (almost none do), and escaping the rare ones.

use alloc::vec::Vec;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True if any of the eight bytes of `w` must be escaped in a JSON string: a
/// control character (below 0x20), `"` or `\`. Bytes of UTF-8 sequences
/// (0x80 and up) never need it.
#[inline]
pub(super) fn word_needs_escape(w: u64) -> bool {
    // Classic "has a byte below n / equal to c" tests: exact as a yes/no
    // answer for the whole word (stray bits can only appear above a byte that
    // really matched).
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (below_space | quote | backslash) & HIGHS != 0
}

/// Up to eight bytes of `s` packed in a word (first byte lowest); missing
/// bytes are spaces, which need no escaping.
#[inline]
pub(super) fn load_short(s: &[u8]) -> u64 {
    debug_assert!(s.len() <= 8);
    let n = s.len();
    // Two overlapping loads cover every length without a loop or a copy of
    // unknown length; the shared bytes are the same in both.
    let bytes = if n >= 4 {
        let first = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
        let last = u32::from_le_bytes([s[n - 4], s[n - 3], s[n - 2], s[n - 1]]);
        u64::from(first) | (u64::from(last) << (8 * (n - 4)))
    } else if n >= 2 {
        let first = u16::from_le_bytes([s[0], s[1]]);
        let last = u16::from_le_bytes([s[n - 2], s[n - 1]]);
        u64::from(first) | (u64::from(last) << (8 * (n - 2)))
    } else if n == 1 {
        u64::from(s[0])
    } else {
        0
    };
    let padding = if n >= 8 {
        0
    } else {
        (ONES * u64::from(b' ')) << (8 * n)
    };
    bytes | padding
}

/// True if `s` contains a byte that must be escaped in a JSON string.
#[inline]
pub(super) fn needs_escape(s: &[u8]) -> bool {
    if s.len() <= 8 {
        return word_needs_escape(load_short(s));
    }
    let mut chunks = s.chunks_exact(8);
    let mut any = false;
    for chunk in &mut chunks {
        any |= word_needs_escape(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
    }
    // The last eight bytes cover the remainder (overlapping is harmless).
    let tail = &s[s.len() - 8..];
    any | word_needs_escape(u64::from_le_bytes(tail.try_into().unwrap_or_default()))
}

/// At most this many output bytes per input byte (`\u001f`).
pub(super) const MAX_ESCAPED_PER_BYTE: usize = 6;

/// Appends `s` with the JSON escapes it needs (no quotes around it).
#[cold]
pub(super) fn write_escaped(s: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn needs(b: u8) -> bool {
        b < 0x20 || b == b'"' || b == b'\\'
    }

    #[test]
    fn every_byte_value_at_every_position_of_a_word() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                for fill in [b'a', b' ', 0x7f, 0x80, 0xff, b'!', b'#', b'[', b']'] {
                    let mut bytes = [fill; 8];
                    bytes[pos] = b;
                    let expect = bytes.iter().any(|&x| needs(x));
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(bytes)),
                        expect,
                        "{bytes:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn short_loads_keep_every_byte_and_pad_with_spaces() {
        let source: Vec<u8> = (1..=8).collect();
        for n in 0..=8 {
            let mut want = [b' '; 8];
            want[..n].copy_from_slice(&source[..n]);
            assert_eq!(load_short(&source[..n]).to_le_bytes(), want, "length {n}");
        }
    }

    #[test]
    fn strings_of_every_length_up_to_40_with_one_special_byte_anywhere() {
        for len in 0..40 {
            let clean = vec![b'x'; len];
            assert!(!needs_escape(&clean), "len {len}");
            for pos in 0..len {
                for b in [b'"', b'\\', b'\n', 0, 0x1f, b' ', 0xc3, b'~'] {
                    let mut s = clean.clone();
                    s[pos] = b;
                    assert_eq!(needs_escape(&s), needs(b), "len {len} pos {pos} byte {b}");
                }
            }
        }
    }

    #[test]
    fn escaped_strings_read_back_as_json() {
        let samples = [
            "plain",
            "quote \" and backslash \\",
            "line\nfeed\r\ttab",
            "\u{0}\u{1}\u{1f} control",
            "été ü 日本",
            "",
        ];
        for s in samples {
            let mut out = vec![b'"'];
            write_escaped(s.as_bytes(), &mut out);
            out.push(b'"');
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
            assert!(out.len() <= 2 + s.len() * MAX_ESCAPED_PER_BYTE);
        }
    }
}
