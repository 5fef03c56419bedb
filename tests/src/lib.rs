//! Shared helpers for actrace integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The `actrace` executable of this workspace, built on first use (the
/// binary lives in another package, so Cargo does not hand its path to these
/// tests).
pub fn actrace_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "-p", "actrace", "--bin", "actrace"])
            .arg("--message-format=json")
            .stderr(Stdio::inherit())
            .output()
            .expect("cannot run cargo");
        assert!(
            out.status.success(),
            "cargo build -p actrace --bin actrace failed"
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "actrace")
            .filter(|m| {
                m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.contains(&"bin".into()))
            })
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo named no actrace executable")
    })
}

/// A command running the `actrace` executable, without an inherited
/// `ACTRACE_FILE` (each test says where its traces go).
pub fn actrace() -> Command {
    let mut cmd = Command::new(actrace_bin());
    cmd.env_remove("ACTRACE_FILE");
    cmd
}
