//! Corpus items: PKCS#12 (wrong MAC or password, hostile iteration counts and scrypt
//! parameters, no certificates), PKCS#7 without or with corrupt certificates, keys only and
//! other files without a certificate.

use std::ffi::OsStr;
use std::fs;

use anchorage::input::asn1;

use super::Corpus;
use crate::hostile::der::{
    child, int, offset_of, oid, seq, splice, tlv, Rng, OID_DATA, OID_ENCRYPTED_DATA,
    OID_SIGNED_DATA,
};
use crate::hostile::fixtures::{Fixtures, P12_PASSWORD};

pub fn add(c: &mut Corpus, rng: &mut Rng, fx: &Fixtures) {
    let p7 = fx.get("bundle-der.p7b");

    // --- PKCS#12 -----------------------------------------------------------------------------
    let p12 = fx.get("default.p12");
    let (pfx, _) = asn1::read(p12, 0).expect("default.p12 parses");
    let mac_data = child(&pfx, 2);
    let digest = child(&child(&mac_data, 0), 1);
    let mut bytes = p12.to_vec();
    bytes[offset_of(p12, digest.content)] ^= 0x01;
    let pw_file = c.path("password.txt");
    fs::write(&pw_file, format!("{P12_PASSWORD}\n")).expect("write password file");
    let pw_arg = pw_file.as_os_str();
    c.bad_file_with(
        "p12-flipped-mac-byte.p12",
        &bytes,
        &[OsStr::new("--password-file"), pw_arg],
    );
    c.bad_file("p12-flipped-mac-byte-no-password.p12", &bytes);
    c.bad_file("p12-no-password-given.p12", p12);
    let wrong_pw = c.path("wrong-password.txt");
    fs::write(&wrong_pw, "not the password\n").expect("write password file");
    for fixture in ["default.p12", "legacy.p12", "des3.pfx"] {
        c.bad_file_with(
            &format!("p12-wrong-password-{fixture}"),
            fx.get(fixture),
            &[OsStr::new("--password-file"), wrong_pw.as_os_str()],
        );
    }
    // Without its MacData the file is still refused: the empty password does not decrypt it.
    let no_mac = seq(&[child(&pfx, 0).raw, child(&pfx, 1).raw]);
    c.bad_file("p12-mac-stripped.p12", &no_mac);

    // Iteration counts: p12-iter65536.p12 encodes 65536 as 02 03 01 00 00 in the MacData and
    // in the PBKDF2-params; patch them in place to hostile values.
    let it = fx.get("p12-iter65536.p12");
    let (it_pfx, _) = asn1::read(it, 0).expect("p12-iter65536.p12 parses");
    let mac_iter = child(&child(&it_pfx, 2), 2);
    assert_eq!(mac_iter.raw, [0x02, 0x03, 0x01, 0x00, 0x00]);
    let safes = child(&child(&child(&child(&it_pfx, 1), 1), 0), 0);
    let encrypted_data = child(&child(&child(&safes, 0), 1), 0);
    let pbes2_params = child(&child(&child(&encrypted_data, 1), 1), 1);
    let pbkdf2_iter = child(&child(&child(&pbes2_params, 0), 1), 1);
    assert_eq!(pbkdf2_iter.raw, [0x02, 0x03, 0x01, 0x00, 0x00]);
    for (name, value) in [
        ("7fffff", [0x7f, 0xff, 0xff]),
        ("ffffff-negative", [0xff, 0xff, 0xff]),
        ("000000-non-minimal-zero", [0x00, 0x00, 0x00]),
        ("0f4241-1000001", [0x0f, 0x42, 0x41]),
    ] {
        let at = offset_of(it, mac_iter.content);
        c.bad_file(
            &format!("p12-mac-iterations-{name}.p12"),
            &splice(it, at, 3, &value),
        );
        let at = offset_of(it, pbkdf2_iter.content);
        c.bad_file(
            &format!("p12-pbkdf2-iterations-{name}.p12"),
            &splice(it, at, 3, &value),
        );
    }
    // 40 copies of a legal 1,000,000-iteration EncryptedData (valid under the empty password):
    // 40 PBKDF2 runs in a 40 KiB file, hours for 64 MiB.
    let one = fx.get("p12-1m-nomac.p12");
    let (one_pfx, _) = asn1::read(one, 0).expect("p12-1m-nomac.p12 parses");
    let auth_safe = child(&one_pfx, 1);
    let one_safes = child(&child(&child(&auth_safe, 1), 0), 0);
    assert_eq!(child(&child(&one_safes, 0), 0).raw, oid(OID_ENCRYPTED_DATA));
    let repeated = tlv(0x30, &one_safes.content.repeat(40));
    let dos = seq(&[
        child(&one_pfx, 0).raw,
        &seq(&[child(&auth_safe, 0).raw, &tlv(0xa0, &tlv(0x04, &repeated))]),
    ]);
    c.bad_file("p12-40x-1m-iterations.p12", &dos);
    // PBES2 with scrypt N=2^19, r=16, p=16: 1 GiB and minutes of work for 250 bytes.
    let scrypt = |n: u64, r: u64, p: u64| {
        let kdf = seq(&[
            &oid("1.3.6.1.4.1.11591.4.11"),
            &seq(&[&tlv(0x04, b"saltsalt"), &int(n), &int(r), &int(p)]),
        ]);
        let cipher = seq(&[&oid("2.16.840.1.101.3.4.1.42"), &tlv(0x04, &[0u8; 16])]);
        let alg = seq(&[&oid("1.2.840.113549.1.5.13"), &seq(&[&kdf, &cipher])]);
        let eci = seq(&[&oid(OID_DATA), &alg, &tlv(0x80, &[0u8; 16])]);
        let ci = seq(&[&oid(OID_ENCRYPTED_DATA), &tlv(0xa0, &seq(&[&int(0), &eci]))]);
        seq(&[
            &int(3),
            &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &seq(&[&ci])))]),
        ])
    };
    c.bad_file("p12-scrypt-n524288-r16-p16.p12", &scrypt(1 << 19, 16, 16));
    c.bad_file(
        "p12-scrypt-n1024-r8-p1-bad-ciphertext.p12",
        &scrypt(1 << 10, 8, 1),
    );
    c.bad_file(
        "p12-no-certificates-keys-only.p12",
        fx.get("p12-nocerts.p12"),
    );
    let empty_safe = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &seq(&[])))]),
    ]);
    c.bad_file("p12-empty-authenticated-safe.p12", &empty_safe);
    let garbage_safe = seq(&[
        &int(3),
        &seq(&[&oid(OID_DATA), &tlv(0xa0, &tlv(0x04, &rng.bytes(500)))]),
    ]);
    c.bad_file("p12-garbage-authenticated-safe.p12", &garbage_safe);
    c.bad_file("p12-version-3-only.p12", &seq(&[&int(3)]));

    // --- PKCS#7 ------------------------------------------------------------------------------
    c.bad_file("p7-empty.p7b", fx.get("p7-empty.p7b"));
    c.bad_file("p7-empty-der.p7b", fx.get("p7-empty-der.p7b"));
    c.bad_file("p7-oid-only.p7b", &seq(&[&oid(OID_SIGNED_DATA)]));
    c.bad_file(
        "p7-content-not-explicit.p7b",
        &seq(&[&oid(OID_SIGNED_DATA), &int(1)]),
    );
    let first = asn1::pkcs7_certificates(p7).expect("bundle-der.p7b parses")[0];
    let mut bytes = p7.to_vec();
    bytes[offset_of(p7, first) + 4] = 0x31; // tbsCertificate SEQUENCE -> SET
    c.bad_file("p7-corrupt-certificate.p7b", &bytes);
    bytes[offset_of(p7, first) + 4] = 0xb0; // tbsCertificate SEQUENCE -> [16] constructed
    c.bad_file("p7-certificate-tag-class-flipped.p7b", &bytes);

    // --- keys only ---------------------------------------------------------------------------
    for fixture in ["key-only.pem", "key-only.der", "tls.key", "myNewCa.key"] {
        c.bad_file(&format!("keys-only-{fixture}"), fx.get(fixture));
    }
    c.bad_file("readme.txt", fx.get("readme.txt"));
    c.bad_file("garbage.bin", fx.get("garbage.bin"));
    c.bad_file("empty-file.crt", b"");
    c.bad_file("single-newline.pem", b"\n");
}
