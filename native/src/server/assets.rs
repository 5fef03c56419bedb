//! The bundled viewer, embedded from `www/` at build time (see build.rs).

include!(concat!(env!("OUT_DIR"), "/www_assets.rs"));

/// The page served at `/` when the viewer was not built into this binary.
pub(crate) const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>actrace</title></head>
<body>
<h1>actrace live trace</h1>
<p>The web viewer is not built into this program (no <code>www/index.html</code> at build time).</p>
<p>The live trace is the websocket <a href=\"/stream\"><code>/stream</code></a>:
save it with <code>actrace attach ws://HOST/stream &gt; trace.json</code> and open the file in
<a href=\"https://ui.perfetto.dev\">Perfetto UI</a>. Metrics: <a href=\"/metrics\"><code>/metrics</code></a>.</p>
</body></html>
";

/// The embedded file for a request path, with its content type.
pub(crate) fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    let rel = match path.trim_start_matches('/') {
        "" => "index.html",
        rel => rel,
    };
    ASSETS
        .iter()
        .find(|(name, _)| *name == rel)
        .map(|(name, body)| (content_type(name), *body))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
