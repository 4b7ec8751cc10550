//! What the account, friends, group and chat commands share.

use anyhow::Context;
use onair_chat::Client;
use std::io::Write;

pub fn home() -> std::path::PathBuf {
    onair_media::home::data_dir()
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}

pub fn client() -> anyhow::Result<Client> {
    Client::open(&home()).map_err(Into::into)
}

/// Prints one JSON object per line.
pub fn json_line(v: &impl serde::Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string(v).expect("listing rows always serialise"));
    let _ = out.flush();
}

pub fn fmt_time(ms: i64) -> String {
    format!("{}Z", crate::time::utc_stamp(ms.div_euclid(1000), " "))
}

pub fn print_message(m: &onair_chat::Message) {
    let seq = m.seq.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let mut line = format!("[{seq}] {} {}: {}", fmt_time(m.sent_at), m.from, m.text);
    if let Some(a) = &m.attachment {
        line.push_str(&format!(" [file {} {} bytes, id {}]", a.name, a.size, a.id));
    }
    if m.state != "sent" && m.state != "received" {
        line.push_str(&format!(" ({}{})", m.state, m.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()));
    }
    println!("{line}  #{}", m.id);
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_time() {
        assert_eq!(super::fmt_time(0), "1970-01-01 00:00:00Z");
        assert_eq!(super::fmt_time(1_700_000_000_000), "2023-11-14 22:13:20Z");
    }
}
