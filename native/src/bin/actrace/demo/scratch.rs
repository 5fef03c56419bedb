//! The demo's playground: a fresh directory under the system's temporary
//! directory holding the source directories and their copies. It is removed
//! when dropped, so a failed run leaves nothing behind either.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fail::at;

/// `ROOT/src/dNN/` holds the sources, `ROOT/dst/dNN/` receives the copies.
pub(crate) struct Scratch {
    root: PathBuf,
    dirs: Vec<String>,
}

impl Scratch {
    /// Makes a directory no other run uses (`create_dir` fails if it exists,
    /// so two runs never share one) with room for `dirs` directories.
    pub(crate) fn create(dirs: usize) -> io::Result<Scratch> {
        let base = std::env::temp_dir();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut attempt = 0u32;
        let root = loop {
            let root = base.join(format!(
                "actrace-demo-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            match fs::create_dir(&root) {
                Ok(()) => break root,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(at(&root)(e)),
            }
        };
        let width = dirs.saturating_sub(1).to_string().len().max(2);
        Ok(Scratch {
            root,
            dirs: (0..dirs).map(|d| format!("d{d:0width$}")).collect(),
        })
    }

    /// The directory names, `d00`, `d01`, …
    pub(crate) fn dirs(&self) -> &[String] {
        &self.dirs
    }

    /// The source directory `name`.
    pub(crate) fn src(&self, name: &str) -> PathBuf {
        self.root.join("src").join(name)
    }

    /// Where `name` is copied to.
    pub(crate) fn dst(&self, name: &str) -> PathBuf {
        self.root.join("dst").join(name)
    }

    /// Writes `files` files of random bytes into each source directory, one
    /// span per directory; their sizes vary around `size` so that directories
    /// take different times. Returns the bytes written.
    pub(crate) fn fill(&self, files: usize, size: u64) -> io::Result<u64> {
        let mut rng = Rng::seeded();
        let width = files.saturating_sub(1).to_string().len().max(2);
        let mut total = 0;
        for name in &self.dirs {
            let _span = actrace::span(format!("make {name}"));
            let dir = self.src(name);
            fs::create_dir_all(&dir).map_err(at(&dir))?;
            for f in 0..files {
                let len = size / 2 + rng.next() % (size + 1);
                let path = dir.join(format!("file-{f:0width$}.dat"));
                fs::write(&path, rng.bytes(len as usize)).map_err(at(&path))?;
                total += len;
            }
        }
        Ok(total)
    }

    /// Removes everything now, reporting failure (dropping only tries).
    pub(crate) fn remove(mut self) -> io::Result<()> {
        let root = std::mem::take(&mut self.root);
        fs::remove_dir_all(&root).map_err(at(&root))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Empty once `remove` did the work.
        if !self.root.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

/// The files of `dir`, sorted by name, so every phase walks them alike.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(at(dir))? {
        let entry = entry.map_err(at(dir))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// splitmix64: enough randomness for file contents, no dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(nanos ^ u64::from(std::process::id()) << 32)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}
