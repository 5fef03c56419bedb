//! Decimal digits for the encoder's numbers, eight at a time.
//!
//! Every line of a trace carries two or three numbers, so they are turned into
//! ASCII without a loop per digit: eight digits are computed side by side in
//! the bytes of one `u64` (most significant digit in the lowest byte, i.e.
//! first in memory on a little-endian store) and written with one store.

/// 10^8: below it a number fits one word of digits.
pub(super) const E8: u64 = 100_000_000;

/// The most bytes a `u64` takes in decimal (20 digits), rounded up to whole
/// words.
pub(super) const UINT_MAX_LEN: usize = 24;

/// `'0'` in every byte.
pub(super) const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight decimal digits of `x` (which must be below 10^8) as byte values
/// 0..=9, the most significant digit in the lowest byte; leading zeros kept.
#[inline]
pub(super) fn digits8(x: u32) -> u64 {
    debug_assert!(x < 100_000_000);
    // Two 4-digit halves in the two 32-bit lanes, the high half first.
    let v = u64::from(x / 10_000) | (u64::from(x % 10_000) << 32);
    // Each lane split into two 2-digit values (16-bit lanes): n * 10486 >> 20
    // is n / 100 for every n below 10^4, and no lane carries into the next.
    let hundreds = ((v * 10_486) >> 20) & 0x0000_007F_0000_007F;
    let v = hundreds | ((v - hundreds * 100) << 16);
    // Each 16-bit lane split into two digits (bytes): n * 103 >> 10 is n / 10
    // for every n below 100.
    let tens = ((v * 103) >> 10) & 0x000F_000F_000F_000F;
    tens | ((v - tens * 10) << 8)
}

/// `x` (below 10^8) as exactly eight ASCII digits, leading zeros kept.
#[inline]
pub(super) fn ascii8(x: u32) -> u64 {
    digits8(x) + ASCII_ZEROS
}

/// `x` (below 10^8) as ASCII digits without leading zeros ("0" for 0), in the
/// low bytes of the word, and how many there are (1..=8).
#[inline]
pub(super) fn ascii_trimmed(x: u32) -> (u64, usize) {
    let d = digits8(x);
    // Leading zero digits are the zero bytes at the low end of the word.
    let zeros = ((d.trailing_zeros() / 8) as usize).min(7);
    ((d + ASCII_ZEROS) >> (zeros * 8), 8 - zeros)
}

/// 10^5 nanoseconds: a time's digits below it are two of whole microseconds
/// and three decimals; the ones above change only every 100 µs.
pub(super) const E5: u64 = 100_000;

/// `00` to `99`, each as two bytes in memory order.
static PAIRS: [u16; 100] = pairs();

/// `.000` to `.999`, each as four bytes in memory order.
static FRACTIONS: [u32; 1000] = fractions();

const fn pairs() -> [u16; 100] {
    let mut table = [0u16; 100];
    let mut n = 0;
    while n < 100 {
        table[n] = (b'0' as u16 + (n / 10) as u16) | ((b'0' as u16 + (n % 10) as u16) << 8);
        n += 1;
    }
    table
}

const fn fractions() -> [u32; 1000] {
    let mut table = [0u32; 1000];
    let mut n = 0;
    while n < 1000 {
        table[n] = b'.' as u32
            | ((b'0' as u32 + (n / 100) as u32) << 8)
            | ((b'0' as u32 + (n / 10 % 10) as u32) << 16)
            | ((b'0' as u32 + (n % 10) as u32) << 24);
        n += 1;
    }
    table
}

/// The last five digits of a time in nanoseconds (`low`, below 10^5) as
/// microseconds: two digits of whole microseconds (one if `trim` and there
/// is no tens digit), the point and three decimals. The bytes in memory
/// order and how many there are (5 or 6).
#[inline(always)]
pub(super) fn micros_tail(low: u32, trim: bool) -> (u64, usize) {
    let whole = (low / 1000) as usize;
    let fraction = u64::from(FRACTIONS[(low % 1000) as usize]);
    if trim && whole < 10 {
        ((u64::from(b'0') + whole as u64) | (fraction << 8), 5)
    } else {
        (u64::from(PAIRS[whole % 100]) | (fraction << 16), 6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn word_str(w: u64, len: usize) -> String {
        String::from_utf8(w.to_le_bytes()[..len].to_vec()).unwrap()
    }

    #[test]
    fn micros_tails_match_format_for_every_value() {
        for low in 0..100_000u32 {
            let (w, len) = micros_tail(low, false);
            let want = format!("{:02}.{:03}", low / 1000, low % 1000);
            assert_eq!(word_str(w, len), want, "{low}");
            let (w, len) = micros_tail(low, true);
            let want = format!("{}.{:03}", low / 1000, low % 1000);
            assert_eq!(word_str(w, len), want, "{low} trimmed");
        }
    }

    #[test]
    fn digits8_matches_format_for_every_4_digit_half() {
        // Every value of each lane, with the other lane at its extremes.
        for n in 0..10_000u32 {
            for x in [n, n * 10_000, n * 10_000 + 9_999, n * 10_000 + n] {
                assert_eq!(word_str(ascii8(x), 8), format!("{x:08}"), "{x}");
            }
        }
    }

    #[test]
    fn trimmed_digits_match_format_below_10_pow_8() {
        for x in (0..100_000_000u32)
            .step_by(7_919)
            .chain([0, 1, 9, 10, 99_999_999])
        {
            let (w, len) = ascii_trimmed(x);
            assert_eq!(word_str(w, len), format!("{x}"), "{x}");
        }
        for p in 0..8 {
            let x = 10u32.pow(p);
            for y in [x - 1, x, x + 1] {
                let (w, len) = ascii_trimmed(y);
                assert_eq!(word_str(w, len), format!("{y}"), "{y}");
            }
        }
    }
}
