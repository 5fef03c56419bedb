//! Who may read the live trace: `Host` and `Origin` checks against DNS
//! rebinding and cross-site websocket hijacking, and the optional token.

use std::net::IpAddr;

use http::HeaderMap;

/// The server's access rules.
#[derive(Clone, Default)]
pub(crate) struct Policy {
    /// Required on `/stream` and `/metrics` when set.
    pub(crate) token: Option<String>,
    /// Origins (`scheme://host[:port]`) allowed besides the server's own.
    pub(crate) allowed_origins: Vec<String>,
    /// Host names allowed besides IP literals and `localhost`.
    pub(crate) allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token itself.
        f.debug_struct("Policy")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("allowed_origins", &self.allowed_origins)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    BadHost(String),
    BadOrigin(String),
    NeedToken,
}

impl Refusal {
    pub(crate) fn status(&self) -> u16 {
        match self {
            Refusal::BadHost(_) | Refusal::BadOrigin(_) => 403,
            Refusal::NeedToken => 401,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Refusal::BadHost(h) => format!(
                "actrace: Host {h:?} is not allowed (only IP addresses, localhost and the names in ACTRACE_ALLOW_HOST), to defeat DNS rebinding\n"
            ),
            Refusal::BadOrigin(o) => format!(
                "actrace: websocket from origin {o:?} refused: only pages served by this program (or origins in ACTRACE_ALLOW_ORIGIN) may read the trace\n"
            ),
            Refusal::NeedToken => "actrace: this trace needs a token: add ?token=TOKEN, an `Authorization: Bearer TOKEN` header or the actrace_token cookie\n".to_string(),
        }
    }
}

/// The host part of a `Host` header value (`name`, `1.2.3.4`, `[::1]`), lower
/// case, without the port.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    let name = if let Some(rest) = host.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        inside.parse::<std::net::Ipv6Addr>().ok()?;
        return Some(format!("[{}]", inside.to_ascii_lowercase()));
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => host,
        }
    };
    if name.is_empty() {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

impl Policy {
    /// Whether the `Host` header names this server: an IP address (DNS
    /// rebinding needs a name), `localhost` (or a subdomain of it), or an
    /// allowed name.
    pub(crate) fn check_host(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let raw = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| Refusal::BadHost(String::new()))?;
        let name = host_name(raw).ok_or_else(|| Refusal::BadHost(raw.to_string()))?;
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        let ok = bare.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&name));
        if ok {
            Ok(raw.trim().to_ascii_lowercase())
        } else {
            Err(Refusal::BadHost(raw.to_string()))
        }
    }

    /// Whether a websocket upgrade may proceed: without `Origin` (not a
    /// browser) or with the server's own origin (`http(s)://` + the checked
    /// `Host`) or an allowed one.
    pub(crate) fn check_origin(&self, headers: &HeaderMap, host: &str) -> Result<(), Refusal> {
        let Some(origin) = headers.get(http::header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin
            .to_str()
            .map_err(|_| Refusal::BadOrigin("(not text)".into()))?
            .trim();
        let lower = origin.to_ascii_lowercase();
        let own = ["http://", "https://"]
            .iter()
            .any(|scheme| lower.strip_prefix(scheme) == Some(host));
        let allowed = self
            .allowed_origins
            .iter()
            .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin));
        if own || allowed {
            Ok(())
        } else {
            Err(Refusal::BadOrigin(origin.to_string()))
        }
    }

    /// Whether the request carries the token (if one is required), in the
    /// query, an `Authorization: Bearer` header or the `actrace_token` cookie.
    pub(crate) fn check_token(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<(), Refusal> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let from_query = query_token(query);
        let from_header = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        let from_cookie = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix("actrace_token="))
            .map(str::to_string)
            .next();
        let given = [from_query, from_header, from_cookie];
        if given
            .iter()
            .flatten()
            .any(|t| same(t.as_bytes(), token.as_bytes()))
        {
            Ok(())
        } else {
            Err(Refusal::NeedToken)
        }
    }

    /// Whether `query` holds the right token (to set the cookie for `/`).
    pub(crate) fn query_has_token(&self, query: Option<&str>) -> bool {
        match (&self.token, query_token(query)) {
            (Some(token), Some(t)) => same(t.as_bytes(), token.as_bytes()),
            _ => false,
        }
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.strip_prefix("token="))
        .map(percent_decode)
        .next()
}

/// Decodes `%XX` escapes and `+` (tokens are usually plain anyway).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn hosts() {
        let p = Policy {
            allowed_hosts: vec!["trace.example".into()],
            ..Policy::default()
        };
        for ok in [
            "127.0.0.1:9000",
            "localhost:1",
            "[::1]:80",
            "10.0.0.1",
            "trace.example:9",
            "a.localhost",
        ] {
            assert!(p.check_host(&headers(&[("host", ok)])).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example:9000",
            "localhost.evil.example",
            "",
            "[::1",
            "a:b:c",
            "x:9x",
        ] {
            assert!(p.check_host(&headers(&[("host", bad)])).is_err(), "{bad}");
        }
        assert!(p.check_host(&HeaderMap::new()).is_err());
    }

    #[test]
    fn origins() {
        let p = Policy {
            allowed_origins: vec!["https://ui.example/".into()],
            ..Policy::default()
        };
        let host = "127.0.0.1:9000";
        assert!(p.check_origin(&headers(&[]), host).is_ok());
        assert!(p
            .check_origin(&headers(&[("origin", "http://127.0.0.1:9000")]), host)
            .is_ok());
        assert!(p
            .check_origin(&headers(&[("origin", "https://ui.example")]), host)
            .is_ok());
        for bad in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:9001",
            "http://127.0.0.1:9000.evil",
        ] {
            assert!(
                p.check_origin(&headers(&[("origin", bad)]), host).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn tokens() {
        let p = Policy {
            token: Some("s3cret".into()),
            ..Policy::default()
        };
        assert!(p
            .check_token(Some("a=1&token=s3cret"), &headers(&[]))
            .is_ok());
        assert!(p
            .check_token(None, &headers(&[("authorization", "Bearer s3cret")]))
            .is_ok());
        assert!(p
            .check_token(None, &headers(&[("cookie", "x=1; actrace_token=s3cret")]))
            .is_ok());
        assert_eq!(
            p.check_token(Some("token=nope"), &headers(&[])),
            Err(Refusal::NeedToken)
        );
        assert_eq!(p.check_token(None, &headers(&[])), Err(Refusal::NeedToken));
        assert!(Policy::default().check_token(None, &headers(&[])).is_ok());
        assert_eq!(percent_decode("a%2Bb+c%zz%4"), "a+b c%zz%4");
    }
}
