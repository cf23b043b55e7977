//! Unit tests of the pure judgement: a presented chain and a bundle built with rcgen (`pki`),
//! judged with a fixed clock in the `Context`; each reason, its wording and its fixes.

use rcgen::{date_time_ymd, BasicConstraints, IsCa};
use rustls::pki_types::{CertificateDer, ServerName};

use super::{judge, Context, Reason};
use crate::cert;

mod pki;

use pki::*;

#[test]
fn chain_ending_in_a_bundle_anchor_is_trusted_and_names_it() {
    let root = root_ca("Test Root");
    let other = root_ca("Other Root");
    let int = intermediate("Test Intermediate", &root);
    let leaf = server(&[HOST], Some(&int), |_| {});

    let v = judged(&[&leaf, &int.der], &[&other.der, &root.der]);
    assert_eq!(v.reason, Reason::Trusted, "{v:?}");
    assert_eq!(
        v.anchor,
        Some(1),
        "the anchor is the bundle's second certificate"
    );
    assert!(v.fixes.is_empty() && v.notes.is_empty(), "{v:?}");

    // The same chain with the root sent along: still the bundle's anchor.
    let v = judged(&[&leaf, &int.der, &root.der], &[&other.der, &root.der]);
    assert_eq!((v.reason, v.anchor), (Reason::Trusted, Some(1)), "{v:?}");

    // An IP address as the name, carried as an IP subjectAltName.
    let leaf = server(&["127.0.0.1"], Some(&root), |_| {});
    let v = Run {
        name: "127.0.0.1",
        ..Run::default()
    }
    .judge(&[&leaf], &[&root.der]);
    assert_eq!((v.reason, v.anchor), (Reason::Trusted, Some(0)), "{v:?}");
}

#[test]
fn presented_root_missing_from_the_bundle_is_the_unknown_issuer() {
    let root = root_ca("Test Root");
    let int = intermediate("Test Intermediate", &root);
    let leaf = server(&[HOST], Some(&int), |_| {});
    let unrelated = root_ca("Other Root");

    let saved = vec![(cert::sha256(&root.der), "/saved/02-Test_Root.pem".into())];
    let v = Run {
        saved,
        ..Run::default()
    }
    .judge(&[&leaf, &int.der, &root.der], &[&unrelated.der]);
    assert_eq!(v.reason, Reason::UnknownIssuer, "{v:?}");
    assert_eq!(v.anchor, None);
    assert!(
        v.diagnosis
            .contains("ends at the CA 'O=Anchorage Tests, CN=Test Root'"),
        "{}",
        v.diagnosis
    );
    assert!(
        fixes(&v).contains(
            "install the CA 'Test Root' with `anchorage install /saved/02-Test_Root.pem`"
        ),
        "{}",
        fixes(&v)
    );
}

#[test]
fn issuer_neither_sent_nor_in_the_bundle_is_unknown() {
    let root = root_ca("Test Root");
    let int = intermediate("Test Intermediate", &root);
    let leaf = server(&[HOST], Some(&int), |_| {});

    // Empty bundle: rustls needs a root, the verdict must still be an honest unknown issuer.
    let v = Run {
        via_proxy: true,
        ..Run::default()
    }
    .judge(&[&leaf], &[]);
    assert_eq!(v.reason, Reason::UnknownIssuer, "{v:?}");
    assert!(
        v.diagnosis
            .contains("is neither in the presented chain nor in the bundle"),
        "{}",
        v.diagnosis
    );
    let f = fixes(&v);
    // Issue 16: runnable as written, the better fix first.
    let chain = f.find("send its full chain").expect("the server fix");
    let flag = f
        .find("`anchorage install --allow-intermediate FILE`")
        .expect("the flag an intermediate needs");
    assert!(chain < flag, "{f}");
    assert!(
        f.contains("your proxy's signing CA ('Test Intermediate')"),
        "{f}"
    );

    // Without a proxy there is no proxy advice.
    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::UnknownIssuer, "{v:?}");
    assert!(!fixes(&v).contains("proxy"), "{}", fixes(&v));
}

#[test]
fn omitted_intermediate_with_ca_issuers_is_an_incomplete_chain() {
    let root = root_ca("Test Root");
    let int = intermediate("Test Intermediate", &root);
    let leaf = server(&[HOST], Some(&int), |p| {
        p.custom_extensions.push(aia_ca_issuers(AIA_URL));
    });
    assert_eq!(facts(&leaf).ca_issuers, vec![AIA_URL.to_string()]);

    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::IncompleteChain, "{v:?}");
    assert!(
        v.diagnosis
            .contains("the server sent 1 certificate and omitted its intermediate")
            && v.diagnosis.contains(AIA_URL),
        "{}",
        v.diagnosis
    );
    let f = fixes(&v);
    assert!(f.contains("send its full chain"), "{f}");
    // Runnable as written: the download names the file the install takes.
    assert!(
        f.contains(&format!("`curl -fsSLo issuer.crt '{AIA_URL}'`"))
            && f.contains("`anchorage install --allow-intermediate issuer.crt`"),
        "{f}"
    );

    // Sending the intermediate completes it.
    let v = judged(&[&leaf, &int.der], &[&root.der]);
    assert_eq!(v.reason, Reason::Trusted, "{v:?}");
}

/// Today's behaviour, pinned: webpki ranks a signature that does not verify above an unknown
/// issuer, so a bundle CA with the issuer's name but another key (re-keyed, replaced) ends as
/// `other` (bad signature), not in `unknown_issuer`'s "different CA with the same name" branch.
#[test]
fn same_name_but_another_key_in_the_bundle_is_a_bad_signature() {
    let root_a = root_ca("Test Root");
    let root_b = root_ca("Test Root"); // the same name, another key
    let leaf = server(&[HOST], Some(&root_a), |_| {});

    let v = judged(&[&leaf], &[&root_b.der]);
    assert_eq!(v.reason, Reason::Other, "{v:?}");
    assert!(
        v.diagnosis
            .starts_with("a signature in the chain does not verify"),
        "{}",
        v.diagnosis
    );
    assert!(
        fixes(&v).contains("installing CAs does not help here"),
        "{}",
        fixes(&v)
    );
    assert_eq!(
        judged(&[&leaf], &[&root_b.der, &root_a.der]).reason,
        Reason::Trusted
    );
}

#[test]
fn expired_leaf_is_told_with_its_date_and_the_anchor_it_reaches() {
    let root = root_ca("Test Root");
    let leaf = server(&[HOST], Some(&root), |p| {
        p.not_after = date_time_ymd(2024, 1, 1);
    });

    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::Expired, "{v:?}");
    assert_eq!(v.anchor, None);
    assert!(
        v.diagnosis.starts_with("the server certificate 'O=Anchorage Tests, CN=Test Server' expired on 2024-01-01T00:00:00Z (517 days ago)"),
        "{}",
        v.diagnosis
    );
    assert!(
        fixes(&v).contains("renew the server certificate"),
        "{}",
        fixes(&v)
    );
    assert_eq!(
        v.notes,
        vec![
            "the chain does lead to the anchor 'Test Root' in the bundle: only the validity dates are wrong"
                .to_string()
        ]
    );

    // The same certificate judged before its expiry is trusted: the clock is the context's.
    let v = Run {
        now: date_time_ymd(2023, 6, 1).unix_timestamp(),
        ..Run::default()
    }
    .judge(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::Trusted, "{v:?}");

    // Expired and, in addition, not anchored.
    let v = judged(&[&leaf], &[]);
    assert_eq!(v.reason, Reason::Expired, "{v:?}");
    assert!(
        v.notes[0].starts_with("in addition, the issuer 'O=Anchorage Tests, CN=Test Root'"),
        "{:?}",
        v.notes
    );
}

#[test]
fn expired_intermediate_asks_the_server_for_a_current_one() {
    let root = root_ca("Test Root");
    let int = intermediate_with("Test Intermediate", &root, |p| {
        p.not_after = date_time_ymd(2025, 1, 1);
    });
    let leaf = server(&[HOST], Some(&int), |_| {});

    let v = judged(&[&leaf, &int.der], &[&root.der]);
    assert_eq!(v.reason, Reason::Expired, "{v:?}");
    assert!(
        v.diagnosis.starts_with(
            "the presented CA certificate 'O=Anchorage Tests, CN=Test Intermediate' expired"
        ),
        "{}",
        v.diagnosis
    );
    assert!(
        fixes(&v).contains("a current certificate of the CA 'Test Intermediate'"),
        "{}",
        fixes(&v)
    );
}

#[test]
fn leaf_from_the_future_is_not_yet_valid() {
    let root = root_ca("Test Root");
    let leaf = server(&[HOST], Some(&root), |p| {
        p.not_before = date_time_ymd(2025, 6, 11);
    });
    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::NotYetValid, "{v:?}");
    assert!(
        v.diagnosis
            .ends_with("is not valid before 2025-06-11T00:00:00Z (in 11 days)"),
        "{}",
        v.diagnosis
    );
    assert!(fixes(&v).contains("check this machine's clock (now: 2025-06-01T00:00:00Z)"));
}

#[test]
fn name_mismatch_lists_the_names_and_suggests_servername() {
    let root = root_ca("Test Root");
    let leaf = server(&["other.example.test", "127.0.0.2"], Some(&root), |_| {});

    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::NameMismatch, "{v:?}");
    assert!(
        v.diagnosis.ends_with(&format!(
            "is not valid for '{HOST}'; it names: DNS:other.example.test, IP:127.0.0.2"
        )),
        "{}",
        v.diagnosis
    );
    assert_eq!(
        v.fixes,
        vec![
            "connect with a name the certificate carries (the host in TARGET, or --servername other.example.test)"
                .to_string(),
            format!("or reissue the server certificate with '{HOST}' in its subjectAltName"),
        ]
    );

    // With --servername given, the advice is only about --servername.
    let v = Run {
        explicit_name: true,
        ..Run::default()
    }
    .judge(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::NameMismatch, "{v:?}");
    assert!(
        v.fixes[0].contains("(--servername other.example.test)"),
        "{:?}",
        v.fixes
    );
}

#[test]
fn self_signed_leaf_not_in_the_bundle() {
    let root = root_ca("Test Root");
    let leaf = server(&[HOST], None, |_| {});
    assert!(facts(&leaf).self_signed);

    let v = judged(&[&leaf], &[&root.der]);
    assert_eq!(v.reason, Reason::SelfSigned, "{v:?}");
    assert!(
        v.diagnosis
            .contains("self-signed server certificate ('O=Anchorage Tests, CN=Test Server')"),
        "{}",
        v.diagnosis
    );
    assert!(
        fixes(&v).contains("install it itself with `anchorage install FILE`"),
        "{}",
        fixes(&v)
    );
    assert!(v.notes.is_empty(), "{:?}", v.notes);

    // Once it is in the bundle, it is its own anchor.
    let v = judged(&[&leaf], &[&root.der, &leaf]);
    assert_eq!((v.reason, v.anchor), (Reason::Trusted, Some(1)), "{v:?}");
}

#[test]
fn self_signed_ca_used_as_server_certificate_is_explained() {
    let leaf = server(&[HOST], None, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    });
    let v = judged(&[&leaf], &[]);
    assert_eq!(v.reason, Reason::SelfSigned, "{v:?}");
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("CA certificate (CA:TRUE) used as a server certificate")),
        "{:?}",
        v.notes
    );
}

#[test]
fn unreadable_server_certificate_is_other() {
    let provider = provider();
    let name = ServerName::try_from(HOST.to_string()).expect("name");
    let ctx = Context {
        name: &name,
        explicit_name: false,
        via_proxy: false,
        saved: &[],
        now: now(),
    };
    let chain = [CertificateDer::from(vec![0x30, 0x00])];
    let v = judge(
        &provider,
        &chain,
        &[Err("not an X.509 certificate".into())],
        &[],
        &ctx,
    );
    assert_eq!(v.reason, Reason::Other, "{v:?}");
    assert_eq!(
        v.diagnosis,
        "the server certificate cannot be read: not an X.509 certificate"
    );
    let v = judge(&provider, &[], &[], &[], &ctx);
    assert_eq!(
        v.diagnosis,
        "the server certificate cannot be read: no certificate"
    );
}

#[test]
fn reason_codes_are_the_documented_ones() {
    let all = [
        (Reason::Trusted, "trusted"),
        (Reason::UnknownIssuer, "unknown_issuer"),
        (Reason::Expired, "expired"),
        (Reason::NotYetValid, "not_yet_valid"),
        (Reason::NameMismatch, "name_mismatch"),
        (Reason::IncompleteChain, "incomplete_chain"),
        (Reason::SelfSigned, "self_signed"),
        (Reason::Other, "other"),
    ];
    for (reason, code) in all {
        assert_eq!(reason.code(), code);
    }
}
