//! Appending lines of output with one capacity check per line.
//!
//! The encoder writes tens of millions of lines; checking the vector's
//! capacity for every piece of every line, and copying pieces of unknown
//! length through `memcpy`, cost more than composing the lines themselves.
//! [`Lines`] checks once per line that its worst-case size fits, then stores
//! the pieces directly, numbers and short names as whole 8-byte words.

use alloc::vec::Vec;
use core::ptr;

use super::decimal::{self, E5, E8, UINT_MAX_LEN};
use super::json_str::{self, MAX_ESCAPED_PER_BYTE};

/// Room kept after a line's worst case, so stores of whole words (up to 16
/// bytes) near its end stay inside the vector's capacity.
const SLACK: usize = 16;

/// The most bytes [`Lines::time`] and [`Lines::duration`] write.
pub(super) const MICROS_MAX_LEN: usize = UINT_MAX_LEN + 8;

/// The room [`Lines::str`] needs for `s`, which also covers a quoted name
/// from [`StaticNames`](super::static_names::StaticNames) (16 bytes).
pub(super) const fn str_max_len(s: &str) -> usize {
    16 + s.len() * MAX_ESCAPED_PER_BYTE
}

/// Lines being appended to a byte vector; they become part of it when this
/// is dropped.
///
/// Invariant: `len <= end` and `end + SLACK <= out.capacity()`, and the bytes
/// of `out` from its length up to `len` have all been written. Before each
/// line, [`Lines::line`] is told the most bytes it may take (the sum of what
/// its pieces state they write at most) and makes room for them; in debug
/// builds every piece checks that budget.
pub(super) struct Lines<'a> {
    out: &'a mut Vec<u8>,
    /// Start of `out`'s buffer, valid for `end + SLACK` bytes.
    base: *mut u8,
    len: usize,
    end: usize,
    /// The digits of the last time above 100 µs (see [`Lines::time`]).
    high: HighDigits,
    /// Where the current line's budget ends.
    #[cfg(debug_assertions)]
    budget_end: usize,
}

impl<'a> Lines<'a> {
    /// Appends to the end of `out`.
    #[inline]
    pub(super) fn new(out: &'a mut Vec<u8>) -> Self {
        Lines {
            base: out.as_mut_ptr(),
            len: out.len(),
            end: out.capacity().saturating_sub(SLACK),
            high: HighDigits::NONE,
            out,
            #[cfg(debug_assertions)]
            budget_end: 0,
        }
    }

    /// Starts a line of at most `max_len` bytes.
    #[inline(always)]
    pub(super) fn line(&mut self, max_len: usize) {
        if self.len + max_len > self.end {
            self.grow(max_len);
        }
        #[cfg(debug_assertions)]
        {
            self.budget_end = self.len + max_len;
        }
    }

    /// Makes room in a new buffer. The work is done by a function that is
    /// not given `self`, so the compiler can keep `self` in registers.
    #[inline(always)]
    fn grow(&mut self, max_len: usize) {
        (self.base, self.end) = grow(self.out, self.len, max_len);
    }

    /// Makes the bytes written so far part of the vector.
    #[inline]
    fn commit(&mut self) {
        // SAFETY: `len` is within the capacity (invariant) and every byte up
        // to it was written here or was already in the vector.
        unsafe { self.out.set_len(self.len) }
    }

    /// Checks (in debug builds) that `n` more bytes fit the line's budget.
    #[inline(always)]
    fn room(&self, n: usize) {
        #[cfg(debug_assertions)]
        assert!(
            self.len + n <= self.budget_end,
            "line budget exceeded: {} + {n} > {}",
            self.len,
            self.budget_end
        );
        let _ = n;
    }

    /// A pointer to the next byte to write.
    #[inline(always)]
    fn cursor(&mut self) -> *mut u8 {
        // SAFETY: `len <= end`, inside the buffer (invariant).
        unsafe { self.base.add(self.len) }
    }

    /// Writes `bytes` (a piece of fixed size).
    #[inline(always)]
    pub(super) fn put<const N: usize>(&mut self, bytes: &[u8; N]) {
        self.room(N);
        // SAFETY: the line's budget covers the piece (`room`) and `line` made
        // room for the budget; source and destination do not overlap.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.cursor(), N) };
        self.len += N;
    }

    /// Stores all `N` bytes of `bytes` but keeps only the first `n`: a piece
    /// of varying length copied without a loop. The budget must cover `N`.
    #[inline(always)]
    pub(super) fn put_prefix<const N: usize>(&mut self, bytes: &[u8; N], n: usize) {
        debug_assert!(n <= N);
        self.room(N);
        // SAFETY: as in `put`.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.cursor(), N) };
        self.len += n.min(N);
    }

    /// Writes `bytes`, of any length.
    #[inline]
    pub(super) fn put_slice(&mut self, bytes: &[u8]) {
        self.room(bytes.len());
        // SAFETY: as in `put`.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.cursor(), bytes.len()) };
        self.len += bytes.len();
    }

    /// Stores the eight bytes of `word` (memory order = little endian) and
    /// keeps the first `n` (at most 8).
    #[inline(always)]
    fn word(&mut self, word: u64, n: usize) {
        debug_assert!(n <= 8);
        self.room(n);
        // SAFETY: the first `n` bytes are in the budget (`room`), the rest of
        // the eight at worst in the slack after it; unaligned stores are
        // allowed.
        unsafe { ptr::write_unaligned(self.cursor().cast::<u64>(), word.to_le()) };
        self.len += n.min(8);
    }

    /// Writes `n` in decimal: at most [`UINT_MAX_LEN`] bytes.
    #[inline(always)]
    pub(super) fn uint(&mut self, n: u64) {
        if n < E8 {
            let (digits, len) = decimal::ascii_trimmed(n as u32);
            self.word(digits, len);
        } else {
            self.room(UINT_MAX_LEN);
            // SAFETY: the budget covers the most that `store_long_uint`
            // stores (`room`).
            self.len += unsafe { store_long_uint(self.cursor(), n) };
        }
    }

    /// Writes a time (nanoseconds) as microseconds with exactly three
    /// decimals (C5): at most [`MICROS_MAX_LEN`] bytes. The digits above
    /// 100 µs are kept from the last time, as the times of a batch mostly
    /// share them.
    #[inline(always)]
    pub(super) fn time(&mut self, nanos: u64) {
        let high = nanos / E5;
        let low = (nanos - high * E5) as u32;
        if high == 0 {
            let (tail, len) = decimal::micros_tail(low, true);
            self.word(tail, len);
            return;
        }
        if high != self.high.value {
            self.high = HighDigits::new(high);
        }
        let high = self.high;
        self.put_prefix(&high.bytes, high.len);
        let (tail, len) = decimal::micros_tail(low, false);
        self.word(tail, len);
    }

    /// Writes a duration (nanoseconds) as microseconds with exactly three
    /// decimals (C5): at most [`MICROS_MAX_LEN`] bytes.
    #[inline(always)]
    pub(super) fn duration(&mut self, nanos: u64) {
        let high = nanos / E5;
        let low = (nanos - high * E5) as u32;
        if high != 0 {
            self.uint(high);
        }
        let (tail, len) = decimal::micros_tail(low, high == 0);
        self.word(tail, len);
    }

    /// Writes `s` as a JSON string literal: at most [`str_max_len`] bytes.
    #[inline(always)]
    pub(super) fn str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if bytes.len() <= 8 {
            let w = json_str::load_short(bytes);
            if !json_str::word_needs_escape(w) {
                self.put(b"\"");
                self.word(w, bytes.len());
                self.put(b"\"");
                return;
            }
        } else if !json_str::needs_escape(bytes) {
            self.put(b"\"");
            self.put_slice(bytes);
            self.put(b"\"");
            return;
        }
        self.escaped(bytes);
    }

    /// A string with escapes: rare, done by a function that is not given
    /// `self` (see [`Lines::grow`]).
    #[inline(always)]
    fn escaped(&mut self, bytes: &[u8]) {
        self.room(2 + bytes.len() * MAX_ESCAPED_PER_BYTE);
        (self.base, self.len, self.end) = write_escaped(self.out, self.len, bytes);
    }
}

/// The decimal digits of a time's part above 100 µs, ready to copy.
#[derive(Clone, Copy)]
struct HighDigits {
    /// `nanos / 10^5` they are for (at most 1.9 * 10^14: 15 digits).
    value: u64,
    bytes: [u8; 16],
    len: usize,
}

impl HighDigits {
    /// For no value.
    const NONE: HighDigits = HighDigits {
        value: u64::MAX,
        bytes: [0; 16],
        len: 0,
    };

    #[cold]
    #[inline(never)]
    fn new(value: u64) -> HighDigits {
        debug_assert!(value < E8 * E8);
        let mut bytes = [0; 16];
        let len = if value < E8 {
            let (digits, len) = decimal::ascii_trimmed(value as u32);
            bytes[..8].copy_from_slice(&digits.to_le_bytes());
            len
        } else {
            let (digits, len) = decimal::ascii_trimmed((value / E8) as u32);
            bytes[..8].copy_from_slice(&digits.to_le_bytes());
            let rest = decimal::ascii8((value % E8) as u32);
            bytes[len..len + 8].copy_from_slice(&rest.to_le_bytes());
            len + 8
        };
        HighDigits { value, bytes, len }
    }
}

/// Stores `n` (at least 10^8) in decimal at `at` and returns its length.
/// Done out of line, and given a pointer rather than the [`Lines`], so the
/// compiler can keep the lines' state in registers.
///
/// # Safety
/// `at` must be valid for writing [`UINT_MAX_LEN`] bytes.
#[inline(never)]
unsafe fn store_long_uint(at: *mut u8, n: u64) -> usize {
    let high = n / E8;
    let mut words = [(0, 0); 3];
    let (digits, len) = if high < E8 {
        decimal::ascii_trimmed(high as u32)
    } else {
        decimal::ascii_trimmed((high / E8) as u32)
    };
    words[0] = (digits, len);
    let mut count = 1;
    if high >= E8 {
        words[1] = (decimal::ascii8((high % E8) as u32), 8);
        count = 2;
    }
    words[count] = (decimal::ascii8((n % E8) as u32), 8);
    let mut written = 0;
    for &(word, len) in &words[..=count] {
        // SAFETY: at most 8 + 8 + 8 bytes, which the caller guarantees.
        unsafe { ptr::write_unaligned(at.add(written).cast::<u64>(), word.to_le()) };
        written += len;
    }
    written
}

/// Commits the first `len` bytes of `out` and reserves `max_len` more (plus
/// the slack); returns the buffer and where writing may go up to.
#[cold]
#[inline(never)]
fn grow(out: &mut Vec<u8>, len: usize, max_len: usize) -> (*mut u8, usize) {
    // SAFETY: as in `Lines::commit`.
    unsafe { out.set_len(len) };
    out.reserve(max_len + SLACK);
    (out.as_mut_ptr(), out.capacity() - SLACK)
}

/// Commits the first `len` bytes of `out` and appends `bytes` as a JSON
/// string literal with escapes through the vector itself (its own capacity
/// checks do not matter on this rare path); returns the buffer, the new
/// length and where writing may go up to. The caller made room for the worst
/// case, so the buffer does not move, but its address is taken again anyway.
#[cold]
#[inline(never)]
fn write_escaped(out: &mut Vec<u8>, len: usize, bytes: &[u8]) -> (*mut u8, usize, usize) {
    // SAFETY: as in `Lines::commit`.
    unsafe { out.set_len(len) };
    out.push(b'"');
    json_str::write_escaped(bytes, out);
    out.push(b'"');
    (
        out.as_mut_ptr(),
        out.len(),
        out.capacity().saturating_sub(SLACK),
    )
}

impl Drop for Lines<'_> {
    fn drop(&mut self) {
        self.commit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn line_of(f: impl FnOnce(&mut Lines<'_>), budget: usize) -> String {
        let mut out = Vec::from(&b"prefix "[..]);
        let mut lines = Lines::new(&mut out);
        lines.line(budget);
        f(&mut lines);
        drop(lines);
        String::from_utf8(out).unwrap()
    }

    /// Values around every power of ten, every word boundary and the ends of
    /// the range, plus a deterministic spread over all magnitudes.
    fn interesting_u64() -> Vec<u64> {
        let mut v = alloc::vec![0, 1, u64::MAX, u64::MAX - 1];
        let mut p = 1u64;
        while let Some(next) = p.checked_mul(10) {
            v.extend([p - 1, p, p + 1, 2 * p - 1, 5 * p, next - 1]);
            p = next;
        }
        v.push(p);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.push(x >> (x % 64));
        }
        v
    }

    #[test]
    fn uints_match_format_over_the_whole_range() {
        for n in interesting_u64() {
            let got = line_of(|l| l.uint(n), UINT_MAX_LEN);
            assert_eq!(got, format!("prefix {n}"));
        }
    }

    #[test]
    fn durations_match_format_with_three_decimals() {
        for n in interesting_u64() {
            let got = line_of(|l| l.duration(n), MICROS_MAX_LEN);
            assert_eq!(got, format!("prefix {}.{:03}", n / 1000, n % 1000), "{n}");
        }
    }

    #[test]
    fn times_match_format_with_three_decimals() {
        let samples = interesting_u64();
        for n in samples {
            let got = line_of(|l| l.time(n), MICROS_MAX_LEN);
            assert_eq!(got, format!("prefix {}.{:03}", n / 1000, n % 1000), "{n}");
        }
    }

    #[test]
    fn times_in_one_run_of_lines_match_format_when_the_high_digits_repeat() {
        // Times close together (sharing their digits above 100 ms), then
        // jumping between magnitudes and back.
        let mut times = interesting_u64();
        times.sort_unstable();
        let mut close = Vec::new();
        for base in [
            0,
            99_999_999,
            100_000_000,
            123_456_789_012,
            10u64.pow(16) - 5,
        ] {
            close.extend((0..300u64).map(|i| base + i * 777_777));
        }
        times.extend(&close);
        times.extend(close.iter().rev());
        let mut out = Vec::new();
        let mut lines = Lines::new(&mut out);
        let mut want = String::new();
        for &n in &times {
            lines.line(MICROS_MAX_LEN + 1);
            lines.time(n);
            lines.put(b" ");
            want.push_str(&format!("{}.{:03} ", n / 1000, n % 1000));
        }
        drop(lines);
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn strings_match_serde_json_for_all_lengths_and_escapes() {
        let mut samples: Vec<String> = Vec::new();
        for len in 0..20 {
            samples.push("n".repeat(len));
            samples.push(format!("{}\"", "q".repeat(len)));
            samples.push(format!("\\{}\u{1}", "é".repeat(len)));
        }
        for s in &samples {
            let got = line_of(|l| l.str(s), str_max_len(s));
            let want = format!("prefix {}", serde_json::to_string(s).unwrap());
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_line_of_many_pieces_grows_the_vector_as_needed() {
        let mut out = Vec::new();
        let mut lines = Lines::new(&mut out);
        for i in 0..1000u64 {
            lines.line(1 + UINT_MAX_LEN + str_max_len("x\"y"));
            lines.put(b",");
            lines.uint(i * 1_000_003);
            lines.str("x\"y");
        }
        drop(lines);
        let text = String::from_utf8(out).unwrap();
        let expected: String = (0..1000u64)
            .map(|i| format!(",{}\"x\\\"y\"", i * 1_000_003))
            .collect();
        assert_eq!(text, expected);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "line budget exceeded")]
    fn writing_past_the_budget_is_caught_in_debug_builds() {
        line_of(|l| l.put(b"0123456789"), 9);
    }
}
