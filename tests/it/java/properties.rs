//! Property tests of the truststore writers (`anchorage::store::java::format`): whatever the
//! format, password, aliases and certificates, what is written reads back as the same entries
//! with a digest/MAC that verifies with that password (and only with it); removing what was
//! added gives back the original bytes; and the reader never panics on mutated stores.

use anchorage::store::java::format::{self, Format, Kind};
use proptest::prelude::*;

use crate::hostile::fixtures::fixtures;

fn certs() -> &'static [Vec<u8>] {
    static CERTS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CERTS.get_or_init(|| {
        [
            "myNewCa.crt",
            "ca2.der",
            "ca3.pem",
            "tls.crt",
            "expiring-ca.pem",
        ]
        .iter()
        .map(|n| {
            let d = anchorage::input::decode(fixtures().get(n), None)
                .unwrap_or_else(|e| panic!("{n}: {}", e.message()));
            d.certs[0].der.clone()
        })
        .collect()
    })
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn formats() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Jks), Just(Format::Pkcs12)]
}

proptest! {
    // PKCS#12 runs a (debug-build) key derivation of 10000 rounds per read and write.
    #![proptest_config(config(24))]

    #[test]
    fn written_stores_read_back_and_verify(
        format in formats(),
        password in "[a-zA-Z0-9 !é€]{0,12}",
        picks in prop::collection::vec((0usize..5, "[a-z0-9_.-]{1,20}"), 0..6),
        drop_mask in any::<u8>(),
    ) {
        let base = format::empty(format, &password).unwrap();
        // The seed store: one certificate under a foreign alias.
        let seed = format::rewrite(&base, &password, &[], &[("corp", &certs()[1])], 1).unwrap();
        let mut seen = std::collections::HashSet::new();
        let adds: Vec<(String, &[u8])> = picks
            .iter()
            .filter(|(_, a)| seen.insert(a.clone()))
            .map(|(i, a)| (format!("anchorage-{a}"), certs()[*i].as_slice()))
            .collect();
        let add_refs: Vec<(&str, &[u8])> = adds.iter().map(|(a, d)| (a.as_str(), *d)).collect();
        let written = format::rewrite(&seed, &password, &[], &add_refs, 7).unwrap();
        prop_assert_eq!(format::detect(&written), Some(format));
        let ks = format::read(&written, &password).unwrap();
        let got: Vec<(String, Vec<u8>)> = ks.trusted().map(|(a, d)| (a.to_string(), d.to_vec())).collect();
        let mut want = vec![("corp".to_string(), certs()[1].clone())];
        want.extend(adds.iter().map(|(a, d)| (a.clone(), d.to_vec())));
        prop_assert_eq!(got, want);
        // Only this password verifies.
        let other = format!("{password}x");
        prop_assert!(format::read(&written, &other).is_err());

        // Remove some: the rest stays; remove all added: the seed's bytes again.
        let dropped: Vec<&str> = adds
            .iter()
            .enumerate()
            .filter(|(i, _)| drop_mask & (1 << i) != 0)
            .map(|(_, (a, _))| a.as_str())
            .collect();
        let fewer = format::rewrite(&written, &password, &dropped, &[], 7).unwrap();
        let ks = format::read(&fewer, &password).unwrap();
        let left: Vec<&str> = ks.trusted().map(|(a, _)| a).collect();
        prop_assert!(left.iter().all(|a| !dropped.contains(a)));
        prop_assert_eq!(left.len(), 1 + adds.len() - dropped.len());
        let all: Vec<&str> = adds.iter().map(|(a, _)| a.as_str()).collect();
        let back = format::rewrite(&written, &password, &all, &[], 7).unwrap();
        prop_assert_eq!(back, seed);
        prop_assert!(ks.entries.iter().all(|e| matches!(e.kind, Kind::Trusted(_))));
    }

    /// One mutated byte of a store: read or refuse, never a panic.
    #[test]
    fn mutated_stores_never_panic(format in formats(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let base = format::empty(format, "changeit").unwrap();
        let mut s = format::rewrite(&base, "changeit", &[], &[("a", &certs()[0]), ("b", &certs()[2])], 1).unwrap();
        let i = pos.index(s.len());
        s[i] = byte;
        let _ = format::read(&s, "changeit");
        let _ = format::rewrite(&s, "changeit", &["a"], &[("c", &certs()[3])], 1);
        s.truncate(i);
        let _ = format::read(&s, "changeit");
    }
}
