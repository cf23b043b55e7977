//! The certificates and the harness of judge's unit tests: CAs and server certificates built
//! with rcgen (ECDSA P-256, which the ring provider verifies), parsed into `Facts`, and `judge`
//! run with a context whose clock is fixed.

use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName};

use super::super::{judge, Context, Verdict};
use crate::probe::facts::Facts;

pub(super) const HOST: &str = "www.example.test";
pub(super) const AIA_URL: &str = "http://ca.example.test/intermediate.crt";

/// 2025-06-01T00:00:00Z: inside every default validity below (2020 .. 2040).
pub(super) fn now() -> i64 {
    date_time_ymd(2025, 6, 1).unix_timestamp()
}

pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Anchorage Tests");
    dn.push(DnType::CommonName, cn);
    dn
}

/// A CA: its parameters and key (to issue with) and its DER.
pub(super) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pub(super) der: Vec<u8>,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p
}

pub(super) fn root_ca(cn: &str) -> Ca {
    let params = ca_params(cn);
    let key = KeyPair::generate().expect("key");
    let der = params.self_signed(&key).expect("root").der().to_vec();
    Ca { params, key, der }
}

pub(super) fn intermediate(cn: &str, issuer: &Ca) -> Ca {
    intermediate_with(cn, issuer, |_| {})
}

/// An intermediate CA whose parameters `edit` may change (its validity, say).
pub(super) fn intermediate_with(
    cn: &str,
    issuer: &Ca,
    edit: impl FnOnce(&mut CertificateParams),
) -> Ca {
    let mut params = ca_params(cn);
    edit(&mut params);
    let key = KeyPair::generate().expect("key");
    let der = params
        .signed_by(&key, &Issuer::from_params(&issuer.params, &issuer.key))
        .expect("intermediate")
        .der()
        .to_vec();
    Ca { params, key, der }
}

/// A server certificate for `names` (DNS names or IP addresses), valid 2020 .. 2040 unless
/// `edit` says otherwise; issued by `issuer`, or self-signed when `None`.
pub(super) fn server(
    names: &[&str],
    issuer: Option<&Ca>,
    edit: impl FnOnce(&mut CertificateParams),
) -> Vec<u8> {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut p = CertificateParams::new(names).expect("names");
    p.distinguished_name = dn("Test Server");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    edit(&mut p);
    let key = KeyPair::generate().expect("key");
    let cert = match issuer {
        Some(ca) => p.signed_by(&key, &Issuer::from_params(&ca.params, &ca.key)),
        None => p.self_signed(&key),
    };
    cert.expect("server").der().to_vec()
}

/// Authority Information Access with one caIssuers URI (short enough for one-byte lengths).
pub(super) fn aia_ca_issuers(url: &str) -> CustomExtension {
    let uri_len = u8::try_from(url.len()).expect("short URL");
    let mut access = vec![0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    access.extend([0x86, uri_len]);
    access.extend(url.as_bytes());
    let mut description = vec![0x30, u8::try_from(access.len()).expect("short")];
    description.extend(access);
    let mut value = vec![0x30, u8::try_from(description.len()).expect("short")];
    value.extend(description);
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], value)
}

pub(super) fn facts(der: &[u8]) -> Facts {
    Facts::parse(der, &provider().signature_verification_algorithms).expect("facts")
}

/// How a test runs `judge`: the server name, the clock and the other knobs of the context.
pub(super) struct Run<'a> {
    pub(super) name: &'a str,
    pub(super) explicit_name: bool,
    pub(super) via_proxy: bool,
    pub(super) saved: Vec<([u8; 32], String)>,
    pub(super) now: i64,
}

impl Default for Run<'_> {
    fn default() -> Self {
        Run {
            name: HOST,
            explicit_name: false,
            via_proxy: false,
            saved: Vec::new(),
            now: now(),
        }
    }
}

impl Run<'_> {
    /// Judge `chain` (as the server would send it) against the certificates of `bundle`.
    pub(super) fn judge(&self, chain: &[&[u8]], bundle: &[&[u8]]) -> Verdict {
        let provider = provider();
        let chain: Vec<CertificateDer<'static>> = chain
            .iter()
            .map(|d| CertificateDer::from(d.to_vec()))
            .collect();
        let parsed: Vec<Result<Facts, String>> = chain.iter().map(|d| Ok(facts(d))).collect();
        let bundle: Vec<Facts> = bundle.iter().map(|d| facts(d)).collect();
        let name = ServerName::try_from(self.name.to_string()).expect("server name");
        let ctx = Context {
            name: &name,
            explicit_name: self.explicit_name,
            via_proxy: self.via_proxy,
            saved: &self.saved,
            now: self.now,
        };
        judge(&provider, &chain, &parsed, &bundle, &ctx)
    }
}

pub(super) fn judged(chain: &[&[u8]], bundle: &[&[u8]]) -> Verdict {
    Run::default().judge(chain, bundle)
}

pub(super) fn fixes(v: &Verdict) -> String {
    v.fixes.join("\n")
}
