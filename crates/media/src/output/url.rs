//! Ingest URLs: validation, the stream key, and a form safe to print.

use crate::{MediaError, Result};

/// An RTMP(S) ingest URL with its stream key. Its `Display` and `Debug` hide
/// the key, so it can go into logs and error messages.
#[derive(Clone)]
pub struct IngestUrl {
    full: String,
    redacted: String,
}

impl IngestUrl {
    /// `url` may carry the key as its last path segment, or `key` gives it.
    pub fn parse(url: &str, key: Option<&str>) -> Result<Self> {
        let bad = |reason: &str| MediaError::BadUrl { url: redact(url), reason: reason.into() };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("expected rtmp://HOST[:PORT]/APP/KEY"))?;
        if scheme != "rtmp" && scheme != "rtmps" {
            return Err(bad("only rtmp:// and rtmps:// are supported"));
        }
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad("missing host"));
        }
        if let Some((_, port)) = host.rsplit_once(':') {
            if !host.ends_with(']') && port.parse::<u16>().is_err() {
                return Err(bad("the port must be a number from 1 to 65535"));
            }
        }
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return Err(bad("missing application name (e.g. rtmp://HOST/live/KEY)"));
        }
        let full = match key {
            Some(k) if !k.is_empty() => format!("{scheme}://{host}/{path}/{k}"),
            _ => {
                if !path.contains('/') {
                    return Err(bad("no stream key: add it to the URL or pass --key"));
                }
                format!("{scheme}://{host}/{path}")
            }
        };
        Ok(IngestUrl { redacted: redact(&full), full })
    }

    /// The URL with its key, for FFmpeg only. Never print it.
    pub fn expose(&self) -> &str {
        &self.full
    }
}

impl std::fmt::Display for IngestUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl std::fmt::Debug for IngestUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IngestUrl({})", self.redacted)
    }
}

/// Replaces everything after `scheme://host/app/` with `****`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "****".into() };
    let mut parts = rest.splitn(3, '/');
    let host = parts.next().unwrap_or("");
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    match (parts.next(), parts.next()) {
        (Some(app), Some(_)) => format!("{scheme}://{host}/{app}/****"),
        (Some(app), None) => format!("{scheme}://{host}/{app}"),
        _ => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_key() {
        let u = IngestUrl::parse("rtmp://127.0.0.1:1935/live/s3cret", None).unwrap();
        assert_eq!(u.expose(), "rtmp://127.0.0.1:1935/live/s3cret");
        assert_eq!(u.to_string(), "rtmp://127.0.0.1:1935/live/****");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = IngestUrl::parse("rtmps://x.example/app", Some("k3y")).unwrap();
        assert_eq!(u.expose(), "rtmps://x.example/app/k3y");
        assert!(!u.to_string().contains("k3y"));
    }

    #[test]
    fn rejects_bad_urls_without_leaking() {
        for bad in ["http://x/live/k", "rtmp://", "rtmp://host", "rtmp://host:99999/live/k", "nonsense", "rtmp://h/live"] {
            let e = IngestUrl::parse(bad, None).unwrap_err().to_string();
            assert!(!e.contains("/k "), "{e}");
        }
        let e = IngestUrl::parse("http://h/live/topsecret", None).unwrap_err().to_string();
        assert!(!e.contains("topsecret"), "{e}");
    }

    #[test]
    fn arbitrary_input_never_panics() {
        // A small deterministic fuzz over URL-ish strings.
        let alphabet: Vec<char> = "rtmps:/@[]%.0123456789abcdefgh\u{e9}\u{1f600} \t?#".chars().collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut s = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for i in 0..len {
                let r = seed.rotate_left(i as u32 * 5);
                s.push(alphabet[(r % alphabet.len() as u64) as usize]);
            }
            let _ = IngestUrl::parse(&s, None).map(|u| u.to_string());
            let _ = IngestUrl::parse(&s, Some("k")).map(|u| u.to_string());
            let _ = redact(&s);
            let _ = s.parse::<crate::source::VideoSpec>();
            let _ = s.parse::<crate::source::AudioSpec>();
        }
    }
}
