//! JSON bodies of the relay's HTTP routes (register, log-in, account,
//! rpc): parse or refuse, never panic; what parses round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| onair_proto::fuzzing::http_body(data));
