//! Names that are `&'static str` (span names are mostly literals), checked
//! for escapes and quoted once instead of on every line.

use super::json_str;

/// Slots in the table; a power of two.
const SLOTS: usize = 64;
/// The longest quoted name kept: one 16-byte store writes it.
const QUOTED_MAX: usize = 16;

/// The JSON string literals of recently written `&'static str` names, by
/// address and length. A `'static` string never changes and its memory is
/// never reused for another one, so its address identifies its text.
pub(super) struct StaticNames {
    slots: [Slot; SLOTS],
}

#[derive(Clone, Copy)]
struct Slot {
    /// The name's address (0 for an empty slot: no name is at address 0)
    /// and length.
    addr: usize,
    len: usize,
    /// `"name"` and its length; 0 for a name that is too long or needs
    /// escapes, which the caller writes as any other string.
    quoted: [u8; QUOTED_MAX],
    quoted_len: usize,
}

impl Default for StaticNames {
    fn default() -> Self {
        StaticNames {
            slots: [Slot {
                addr: 0,
                len: 0,
                quoted: [0; QUOTED_MAX],
                quoted_len: 0,
            }; SLOTS],
        }
    }
}

impl core::fmt::Debug for StaticNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kept = self.slots.iter().filter(|s| s.addr != 0).count();
        f.debug_struct("StaticNames").field("kept", &kept).finish()
    }
}

impl StaticNames {
    /// `name` as a JSON string literal (in the first `len` of the bytes), if
    /// it is short and needs no escapes; `None` otherwise.
    #[inline(always)]
    pub(super) fn quoted(&mut self, name: &'static str) -> Option<(&[u8; QUOTED_MAX], usize)> {
        let addr = name.as_ptr() as usize;
        let slot = (addr ^ (addr >> 6) ^ name.len()) & (SLOTS - 1);
        if self.slots[slot].addr != addr || self.slots[slot].len != name.len() {
            self.slots[slot] = Slot::new(name);
        }
        let slot = &self.slots[slot];
        (slot.quoted_len != 0).then_some((&slot.quoted, slot.quoted_len))
    }
}

impl Slot {
    #[cold]
    #[inline(never)]
    fn new(name: &'static str) -> Slot {
        let bytes = name.as_bytes();
        let mut slot = Slot {
            addr: bytes.as_ptr() as usize,
            len: bytes.len(),
            quoted: [0; QUOTED_MAX],
            quoted_len: 0,
        };
        if bytes.len() + 2 <= QUOTED_MAX && !json_str::needs_escape(bytes) {
            slot.quoted[0] = b'"';
            slot.quoted[1..=bytes.len()].copy_from_slice(bytes);
            slot.quoted[bytes.len() + 1] = b'"';
            slot.quoted_len = bytes.len() + 2;
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn quoted(names: &mut StaticNames, s: &'static str) -> Option<String> {
        names
            .quoted(s)
            .map(|(bytes, len)| String::from_utf8(bytes[..len].to_vec()).unwrap())
    }

    #[test]
    fn short_clean_names_are_quoted_and_others_are_left_to_the_caller() {
        let mut names = StaticNames::default();
        assert_eq!(quoted(&mut names, "a").as_deref(), Some("\"a\""));
        assert_eq!(
            quoted(&mut names, "fourteen bytes").as_deref(),
            Some("\"fourteen bytes\"")
        );
        assert_eq!(quoted(&mut names, "fifteen bytes!!"), None);
        assert_eq!(quoted(&mut names, "say \"hi\""), None);
        assert_eq!(quoted(&mut names, "tab\t"), None);
        assert_eq!(quoted(&mut names, "").as_deref(), Some("\"\""));
        // Asked again, from the table.
        assert_eq!(quoted(&mut names, "say \"hi\""), None);
        assert_eq!(quoted(&mut names, "a").as_deref(), Some("\"a\""));
        assert_eq!(quoted(&mut names, "été"), Some(String::from("\"été\"")));
    }

    #[test]
    fn names_sharing_slots_or_addresses_are_told_apart() {
        // Many names at once (more than the slots), and names that are
        // prefixes of one another (same address, other length).
        let text: &'static str = "abcdefghijklmn";
        let mut all: Vec<&'static str> = (1..=text.len()).map(|n| &text[..n]).collect();
        all.extend((0..text.len()).map(|i| &text[i..]));
        let leaked: Vec<&'static str> = (0..200)
            .map(|i| &*alloc::boxed::Box::leak(alloc::format!("n{i}").into_boxed_str()))
            .collect();
        all.extend(leaked);
        let mut names = StaticNames::default();
        for round in 0..3 {
            for &s in &all {
                let want = alloc::format!("\"{s}\"");
                assert_eq!(quoted(&mut names, s), Some(want), "round {round}");
            }
        }
    }
}
