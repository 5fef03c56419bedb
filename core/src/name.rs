//! Names of tasks and spans, free to copy when they are `&'static str`.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::{self, NonNull};

/// The name of a task or span.
///
/// A `&'static str` is stored as is, so naming a span with a literal costs no
/// allocation; other names are shared behind one `Arc` so copies stay cheap.
/// Either way a name is two words: events and open spans carry one each, so
/// every byte saved here is saved twice per span on the hot path.
pub struct Name {
    ptr: NonNull<u8>,
    /// The length in bytes, with [`SHARED`] set if `ptr` came from
    /// `Arc::<str>::into_raw`.
    len: usize,
    /// Owns a share of an `Arc<str>` (for auto traits and drop checking).
    _shared: PhantomData<Arc<str>>,
}

/// Marks a name that holds a share of an `Arc<str>`. No string is this long.
const SHARED: usize = 1 << (usize::BITS - 1);

// SAFETY: a name is either a `&'static str` or a share of an `Arc<str>`, both
// of which may be sent and shared between threads.
unsafe impl Send for Name {}
// SAFETY: as above.
unsafe impl Sync for Name {}

impl Name {
    /// A name that lives for the whole program, usually a literal.
    pub const fn from_static(s: &'static str) -> Self {
        Name {
            // SAFETY: a reference is never null.
            ptr: unsafe { NonNull::new_unchecked(s.as_ptr() as *mut u8) },
            len: s.len(),
            _shared: PhantomData,
        }
    }

    /// A name built at run time, shared without copying.
    pub fn from_shared(s: Arc<str>) -> Self {
        let len = s.len();
        let raw = Arc::into_raw(s) as *const u8 as *mut u8;
        Name {
            // SAFETY: `Arc::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            len: len | SHARED,
            _shared: PhantomData,
        }
    }

    /// True if the name is a `&'static str` (no reference count to keep).
    pub fn is_static(&self) -> bool {
        self.len & SHARED == 0
    }

    /// The `&'static str` the name was made from, if it was.
    #[inline]
    pub fn as_static(&self) -> Option<&'static str> {
        // SAFETY: a name without the shared bit was made from a `&'static str`.
        self.is_static().then(|| unsafe { &*self.raw() })
    }

    fn raw(&self) -> *const str {
        ptr::slice_from_raw_parts(self.ptr.as_ptr() as *const u8, self.len & !SHARED) as *const str
    }

    /// The name as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: `ptr` and the length describe a valid `str`: a static one,
        // or one kept alive by this name's share of its `Arc`.
        unsafe { &*self.raw() }
    }
}

impl Clone for Name {
    #[inline]
    fn clone(&self) -> Self {
        if !self.is_static() {
            // SAFETY: `raw` came from `Arc::into_raw` and this name's share
            // keeps it alive; the new name owns the new share.
            unsafe { Arc::increment_strong_count(self.raw()) };
        }
        Name {
            ptr: self.ptr,
            len: self.len,
            _shared: PhantomData,
        }
    }
}

impl Drop for Name {
    #[inline]
    fn drop(&mut self) {
        if !self.is_static() {
            // SAFETY: gives back exactly the share this name owns.
            drop(unsafe { Arc::from_raw(self.raw()) });
        }
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Name {
    fn from(s: &'static str) -> Self {
        Name::from_static(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Self {
        Name::from_shared(Arc::from(s))
    }
}

impl From<Arc<str>> for Name {
    fn from(s: Arc<str>) -> Self {
        Name::from_shared(s)
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    #[test]
    fn names_are_two_words_and_events_four() {
        assert_eq!(
            core::mem::size_of::<Name>(),
            2 * core::mem::size_of::<usize>()
        );
        assert_eq!(
            core::mem::size_of::<Option<Name>>(),
            core::mem::size_of::<Name>()
        );
        #[cfg(target_pointer_width = "64")]
        assert!(core::mem::size_of::<crate::Event>() <= 32);
    }

    #[test]
    fn static_and_shared_names_read_back_and_compare() {
        let s = Name::from("scan");
        assert!(s.is_static());
        assert_eq!(s.as_static(), Some("scan"));
        assert_eq!(Name::from(String::from("scan")).as_static(), None);
        assert_eq!(s.as_str(), "scan");
        let d = Name::from(String::from("scan"));
        assert!(!d.is_static());
        assert_eq!(s, d);
        assert_eq!(d.to_string(), "scan");
        assert_eq!(format!("{d:?}"), "\"scan\"");
        assert_eq!(Name::from(""), Name::from(String::new()));
    }

    #[test]
    fn shared_names_count_their_shares() {
        let arc: Arc<str> = Arc::from("conn 7");
        let name = Name::from(arc.clone());
        assert_eq!(Arc::strong_count(&arc), 2);
        let copies: Vec<Name> = (0..5).map(|_| name.clone()).collect();
        assert_eq!(Arc::strong_count(&arc), 7);
        assert!(copies.iter().all(|c| c.as_str() == "conn 7"));
        drop(copies);
        drop(name);
        assert_eq!(Arc::strong_count(&arc), 1);
    }
}
