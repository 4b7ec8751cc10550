//! One module per job of the `onair` command line.

pub mod beauty;
pub mod bench;
pub mod devices;
pub mod live;
pub mod recordings;
