//! Embeds the bundled web viewer (`../www`) into the library, so the live
//! server's `/` serves it from the binary (SPEC K2). Every file under `www/`
//! is embedded (hidden files and `node_modules` excepted) and the build re-runs
//! when anything there changes, so new viewer files are picked up by
//! themselves. Without `www/` (e.g. a packaged crate) the table is empty and
//! the server says the viewer is not built.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let www = manifest.join("..").join("www");
    println!("cargo:rerun-if-changed={}", www.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    collect(&www, &www, &mut files);
    files.sort();
    let mut out = String::from("/// Files of the bundled viewer: (path under www/, contents).\n");
    out.push_str("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("www_assets.rs");
    std::fs::write(&dest, out).expect("cannot write the embedded viewer table");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        // Directories are scanned by rerun-if-changed on www/ as a whole.
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = path.canonicalize().unwrap_or(path);
            files.push((rel, abs));
        }
    }
}
