//! Fuzz target: Java keystores (JKS/JCEKS) through `anchorage::input::decode`. The input's
//! first eight bytes are replaced by a keystore magic (chosen by the input's first bit) and
//! version 2, so every execution reaches the keystore parser: entry counts, tags, UTF and u32
//! lengths, private-key chains, the digest and the certificates. Both password modes run
//! (`None` tries `changeit`, `Some` takes the given-password path). Must return Ok or Err,
//! never panic, hang or allocate from a length field.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if bytes.len() >= 8 {
        let magic: [u8; 4] = if bytes[0] & 1 == 0 {
            [0xFE, 0xED, 0xFE, 0xED]
        } else {
            [0xCE, 0xCE, 0xCE, 0xCE]
        };
        bytes[..4].copy_from_slice(&magic);
        bytes[4..8].copy_from_slice(&[0, 0, 0, 2]);
    }
    let _ = anchorage::input::decode(&bytes, None);
    let _ = anchorage::input::decode(&bytes, Some("changeit"));
});
