//! An asymmetric memory fence: free on the fast side, a system call on the
//! slow side (Linux `membarrier(2)`, private expedited).
//!
//! A thread that stores a flag and then loads another one needs a full fence
//! between the two so that a second thread doing the mirror image cannot
//! miss both (Dekker). With `heavy`, the slow side forces that fence onto
//! every running thread of the process, so the fast side only has to keep
//! the compiler from reordering.

use std::sync::atomic::{compiler_fence, Ordering};
use std::sync::OnceLock;

/// True if `heavy` is available; registers the process for it on first use.
pub(crate) fn available() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED.get_or_init(register)
}

#[cfg(target_os = "linux")]
fn register() -> bool {
    use rustix::thread::{membarrier, membarrier_query, MembarrierCommand as Cmd};
    let query = membarrier_query();
    query.contains_command(Cmd::PrivateExpedited)
        && query.contains_command(Cmd::RegisterPrivateExpedited)
        && membarrier(Cmd::RegisterPrivateExpedited).is_ok()
}

#[cfg(not(target_os = "linux"))]
fn register() -> bool {
    false
}

/// The fast side: orders this thread's accesses as written, given that the
/// other side calls [`heavy`].
#[inline]
pub(crate) fn light() {
    compiler_fence(Ordering::SeqCst);
}

/// The slow side: every thread of the process passes a full memory barrier
/// before this returns. Only call it where [`available`] said true.
pub(crate) fn heavy() {
    #[cfg(target_os = "linux")]
    {
        use rustix::thread::{membarrier, MembarrierCommand};
        if membarrier(MembarrierCommand::PrivateExpedited).is_ok() {
            return;
        }
    }
    // Registered, so this cannot fail; if it ever does, a fence of our own is
    // the best left to do.
    std::sync::atomic::fence(Ordering::SeqCst);
}
