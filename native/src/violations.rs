//! What happens when a program breaks a nesting rule (R11).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, RwLock};

use actrace_core::Violation;

/// What a violation does to the caller. Either way the stream stays
/// well-formed: actrace repairs it first (R11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Report, then panic in the calling thread (the default, as in the Go
    /// original). Inside a panic already unwinding, only report.
    Panic,
    /// Report and go on.
    Report,
}

static POLICY: AtomicU8 = AtomicU8::new(0);

type Hook = Arc<dyn Fn(&Violation, &str) + Send + Sync>;
static HOOK: RwLock<Option<Hook>> = RwLock::new(None);

/// Sets the process-wide violation policy.
pub fn set_policy(policy: Policy) {
    POLICY.store(policy as u8, Ordering::Relaxed);
}

/// The process-wide violation policy.
pub fn policy() -> Policy {
    match POLICY.load(Ordering::Relaxed) {
        0 => Policy::Panic,
        _ => Policy::Report,
    }
}

/// Replaces how violations are reported (by default: one message on stderr).
/// The hook gets the violation and, in debug mode (`ACTRACE_DEBUG`), the
/// places where the live nodes involved were created (else an empty string).
pub fn set_violation_hook(hook: impl Fn(&Violation, &str) + Send + Sync + 'static) {
    *HOOK.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hook));
}

/// Reports a violation that has been repaired, then applies the policy.
/// Called with no lock held.
pub(crate) fn handle(violations: Vec<Violation>, sites: impl FnOnce() -> String) {
    if violations.is_empty() {
        return;
    }
    let sites = sites();
    let hook = HOOK.read().unwrap_or_else(|p| p.into_inner()).clone();
    for v in &violations {
        match &hook {
            Some(hook) => hook(v, &sites),
            None => eprintln!("{v}{sites}"),
        }
    }
    if policy() == Policy::Panic && !std::thread::panicking() {
        panic!("{}", violations[0]);
    }
}
