//! The file consumer (K1).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::Consumer;

/// Writes the stream to a file. It is flushed to the operating system about
/// every 50 ms, so a crash loses at most the last ~100 ms.
pub struct FileConsumer {
    path: PathBuf,
    out: BufWriter<File>,
}

impl FileConsumer {
    /// Creates (or truncates) the file.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path)?;
        Ok(FileConsumer {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
        })
    }
}

impl Consumer for FileConsumer {
    fn describe(&self) -> String {
        format!("trace file {}", self.path.display())
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn close(&mut self) -> io::Result<()> {
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }
}
