//! The relay's server-side call recordings (issue 16) as a client sees
//! them: list, show, stream (HTTP Range), download, pin, delete, start and
//! stop, answer, the standing consent. The `onair recordings cloud …`
//! commands and the app's Recordings → Cloud tab are two front doors over
//! this one client.

use std::path::Path;
use std::time::Duration;

use onair_proto::cloud::*;

use crate::error::NetError;
use crate::net::{http_decode, Http, Method, RelayUrl};

/// A signed-in user's view of the relay's cloud recordings. The token
/// never appears in a URL or a `Debug` print.
#[derive(Clone)]
pub struct CloudApi {
    url: RelayUrl,
    token: String,
}

impl std::fmt::Debug for CloudApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudApi").field("url", &self.url).finish_non_exhaustive()
    }
}

/// A recording id as the relay makes them (`r` + 16 hex digits); anything
/// else never reaches a URL.
pub fn check_id(id: &str) -> Result<(), NetError> {
    if id.len() == 17 && id.starts_with('r') && id[1..].bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(NetError::Protocol(format!("{id:?} is not a server recording id (like r0123456789abcdef)")))
    }
}

impl CloudApi {
    pub fn new(url: RelayUrl, token: String) -> Self {
        CloudApi { url, token }
    }

    fn http(&self) -> Http {
        Http::new(self.url.clone())
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, NetError> {
        self.http().json(Method::GET, path, Some(&self.token), &serde_json::json!({})).await
    }

    /// A POST whose answer has no body worth reading.
    async fn post(&self, path: &str, body: Vec<u8>) -> Result<(), NetError> {
        let (s, b) = self.http().call(Method::POST, path, Some(&self.token), "application/json", body).await?;
        if s.is_success() {
            return Ok(());
        }
        http_decode::<serde_json::Value>(s, &b).map(|_| ())
    }

    /// The user's recordings, newest first.
    pub async fn list(&self) -> Result<Vec<CloudRecording>, NetError> {
        self.get("/v1/cloud/recordings").await
    }

    /// One recording with its bookmarks and audit.
    pub async fn show(&self, id: &str) -> Result<CloudRecording, NetError> {
        check_id(id)?;
        self.get(&format!("/v1/cloud/recordings/{id}")).await
    }

    /// Recordings of the user's calls that have not ended (pending or recording).
    pub async fn live(&self) -> Result<Vec<CloudRecording>, NetError> {
        self.get("/v1/cloud/live").await
    }

    pub async fn pin(&self, id: &str, pinned: bool) -> Result<(), NetError> {
        check_id(id)?;
        self.post(&format!("/v1/cloud/recordings/{id}/pin"), serde_json::to_vec(&CloudPin { pinned }).unwrap_or_default()).await
    }

    pub async fn delete(&self, id: &str) -> Result<(), NetError> {
        check_id(id)?;
        let (s, b) = self.http().call(Method::DELETE, &format!("/v1/cloud/recordings/{id}"), Some(&self.token), "application/json", Vec::new()).await?;
        if s.is_success() {
            return Ok(());
        }
        http_decode::<serde_json::Value>(s, &b).map(|_| ())
    }

    /// Asks the relay to record the user's answered call.
    pub async fn start(&self, tier: Option<Tier>) -> Result<CloudRecording, NetError> {
        self.http().json(Method::POST, "/v1/cloud/recordings", Some(&self.token), &StartCloudRecording { call_id: None, tier }).await
    }

    pub async fn stop(&self, id: &str) -> Result<(), NetError> {
        check_id(id)?;
        self.post(&format!("/v1/cloud/recordings/{id}/stop"), Vec::new()).await
    }

    pub async fn bookmark(&self, id: &str, label: &str) -> Result<(), NetError> {
        check_id(id)?;
        let body = serde_json::to_vec(&NewCloudBookmark { label: label.to_string() }).unwrap_or_default();
        self.post(&format!("/v1/cloud/recordings/{id}/bookmarks"), body).await
    }

    /// The other participant's answer to a pending recording.
    pub async fn answer(&self, id: &str, accept: bool) -> Result<(), NetError> {
        check_id(id)?;
        self.post(&format!("/v1/cloud/recordings/{id}/consent"), serde_json::to_vec(&CloudConsent { accept }).unwrap_or_default()).await
    }

    pub async fn consent(&self) -> Result<ConsentAnswer, NetError> {
        Ok(self.get::<ConsentSetting>("/v1/cloud/consent").await?.answer)
    }

    pub async fn set_consent(&self, answer: ConsentAnswer) -> Result<ConsentAnswer, NetError> {
        let c: ConsentSetting = self.http().json(Method::PUT, "/v1/cloud/consent", Some(&self.token), &ConsentSetting { answer }).await?;
        Ok(c.answer)
    }

    /// The recording's plain MP4, whole or the one `range` (an HTTP
    /// `Range` header's value), as the relay's response: status, headers
    /// and a body to read chunk by chunk. A refusal is an error.
    pub async fn stream(&self, id: &str, range: Option<&str>) -> Result<reqwest::Response, NetError> {
        check_id(id)?;
        let mut req = self.http().request(Method::GET, &format!("/v1/cloud/recordings/{id}/file"), Some(&self.token))?;
        // A long download runs as long as it needs; only a stall ends it.
        req = req.timeout(Duration::from_secs(6 * 3600));
        if let Some(r) = range {
            req = req.header("range", r);
        }
        let res = req.send().await.map_err(|e| NetError::Http(e.without_url().to_string()))?;
        let s = res.status();
        if s.is_success() || s == reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
            return Ok(res);
        }
        let b = res.bytes().await.unwrap_or_default();
        Err(http_decode::<serde_json::Value>(s, &b).err().unwrap_or(NetError::Http(format!("HTTP {s}"))))
    }

    /// Downloads the recording into `out` (through `out.part`, renamed
    /// when complete, so a cut download never looks like a recording),
    /// reporting (bytes so far, total if known). Returns the bytes written.
    pub async fn download(&self, id: &str, out: &Path, progress: impl FnMut(u64, Option<u64>)) -> Result<u64, DownloadError> {
        self.download_through(id, out, Ok, |f| f.sync_all(), progress).await
    }

    /// [`CloudApi::download`] through a writer `wrap` makes of the file
    /// (e.g. one that encrypts), which `finish` completes before the rename.
    pub async fn download_through<W: std::io::Write>(
        &self,
        id: &str,
        out: &Path,
        wrap: impl FnOnce(std::fs::File) -> std::io::Result<W>,
        finish: impl FnOnce(W) -> std::io::Result<()>,
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<u64, DownloadError> {
        let mut res = self.stream(id, None).await?;
        let total = res.content_length();
        let part = out.with_extension("part");
        let io = |e: std::io::Error, p: &Path| DownloadError::Io { path: p.display().to_string(), source: e };
        let f = std::fs::File::create(&part).map_err(|e| io(e, &part))?;
        let mut n = 0u64;
        let result = async {
            let mut w = wrap(f).map_err(|e| io(e, &part))?;
            while let Some(chunk) = res.chunk().await.map_err(|e| NetError::Http(e.without_url().to_string()))? {
                w.write_all(&chunk).map_err(|e| io(e, &part))?;
                n += chunk.len() as u64;
                progress(n, total);
            }
            if total.is_some_and(|t| t != n) {
                return Err(NetError::Closed.into());
            }
            finish(w).map_err(|e| io(e, &part))?;
            std::fs::rename(&part, out).map_err(|e| io(e, out))
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        result.map(|()| n)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("writing {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_id("r0123456789abcdef").is_ok());
        assert!(check_id("r0123456789abcde").is_err());
        assert!(check_id("../../v1/x_abcdef").is_err());
        assert!(check_id("x0123456789abcdef").is_err());
    }
}
