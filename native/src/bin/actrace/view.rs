//! `actrace view FILE [--listen ADDR]`: serve the bundled viewer with one
//! trace file loaded, print its URL and run until Ctrl-C.
//!
//! The file is served at `/trace.json` by the live server (with its Host
//! checks against DNS rebinding) and read afresh on every load, so reloading
//! the page shows a file that is still being written as it is by then.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

use crate::fail::Failure;

/// Arguments of `actrace view`.
#[derive(clap::Args)]
pub(crate) struct ViewArgs {
    /// The trace to show: Chrome JSON, closed, still being written or cut short.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Where to serve the viewer: PORT, :PORT or HOST:PORT (loopback unless a
    /// host is given).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: String,
}

pub(crate) fn run(args: &ViewArgs) -> Result<(), Failure> {
    let shown = args.file.display();
    // Refuse now what the page could only report as an HTTP error later.
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| Failure::cannot(format!("actrace view: cannot read {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Failure::cannot(format!(
            "actrace view: cannot read {shown}: not a file"
        )));
    }
    std::fs::File::open(&args.file)
        .map_err(|e| Failure::cannot(format!("actrace view: cannot read {shown}: {e}")))?;
    // An absolute path, so the server finds it whatever happens to the
    // working directory.
    let path = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
    let server = actrace::Server::builder()
        .listen(&args.listen)
        .trace_file(path)
        .start()
        .map_err(|e| Failure::cannot(format!("actrace view: {e}")))?;
    let url = server
        .trace_url()
        .ok_or_else(|| Failure::cannot("actrace view: the server does not serve the file"))?;
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let can_stop = match ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    }) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("actrace view: cannot handle Ctrl-C ({e}); stop it by killing the process");
            false
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "actrace view: {shown} at {url}; Ctrl-C to stop{}",
            if server.local_addr().ip().is_loopback() {
                ""
            } else {
                " (reachable from other machines)"
            }
        );
        let _ = stdout.flush();
    }
    if can_stop {
        let _ = stop_rx.recv();
    } else {
        // Without a handler, the default action of Ctrl-C ends the process.
        loop {
            std::thread::park();
        }
    }
    server.stop();
    Ok(())
}
