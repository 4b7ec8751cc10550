//! Dates for people, in UTC, without a date library (shared with the app).

pub use onair_media::library::utc_stamp;
