//! Dates for people, in UTC, without a date library.

/// `YYYY-MM-DD<sep>HH:MM:SS` for a Unix time in seconds.
pub fn utc_stamp(unix: i64, sep: &str) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_stamp_formats() {
        assert_eq!(super::utc_stamp(0, " "), "1970-01-01 00:00:00");
        assert_eq!(super::utc_stamp(1_795_000_000, "T"), "2026-11-18T11:06:40");
        assert_eq!(super::utc_stamp(-1, " "), "1969-12-31 23:59:59");
    }
}
