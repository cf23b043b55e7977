//! Fuzz target: `anchorage::input::decode` must return Ok or Err for any bytes, never panic,
//! never hang, never allocate in proportion to a length field. Both password modes are
//! exercised (`None` tries the empty PKCS#12 password, `Some` takes the given-password path).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = anchorage::input::decode(data, None);
    let _ = anchorage::input::decode(data, Some("x"));
});
