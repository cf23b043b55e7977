//! `input::decode` on every supported encoding, and on a 10,000-certificate PEM bundle.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

use anchorage::input::decode;

mod common;

const N: usize = 10_000;

/// One small fixture and what decoding it must give.
struct Case<'a> {
    name: &'a str,
    bytes: &'a [u8],
    password: Option<&'a str>,
    certs: usize,
    format: &'static str,
}

fn small(c: &mut Criterion) {
    let fx = common::fixtures();
    let pw = fx.password.as_str();
    let mut g = c.benchmark_group("decode");
    g.sample_size(50)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    let cases = [
        Case {
            name: "der_1",
            bytes: &fx.der,
            password: None,
            certs: 1,
            format: "der",
        },
        Case {
            name: "pem_3",
            bytes: &fx.bundle_pem,
            password: None,
            certs: 3,
            format: "pem",
        },
        Case {
            name: "pkcs7_der_3",
            bytes: &fx.p7b,
            password: None,
            certs: 3,
            format: "pkcs7",
        },
        Case {
            name: "pkcs12_default",
            bytes: &fx.p12,
            password: Some(pw),
            certs: 2,
            format: "pkcs12",
        },
        Case {
            name: "pkcs12_nokeys",
            bytes: &fx.p12_nokeys,
            password: Some(pw),
            certs: 2,
            format: "pkcs12",
        },
    ];
    for Case {
        name,
        bytes,
        password,
        certs,
        format,
    } in cases
    {
        let d = decode(bytes, password).unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        assert_eq!((d.certs.len(), d.format), (certs, format), "{name}");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| decode(black_box(bytes), black_box(password)))
        });
    }
    // Real, diverse roots (larger than the synthetic ones): per-certificate cost to scale from.
    match std::fs::read(common::HOST_BUNDLE) {
        Ok(host) => {
            let n = decode(&host, None)
                .map(|d| d.certs.len())
                .unwrap_or_else(|e| panic!("host bundle: {}", e.message()));
            g.throughput(Throughput::Bytes(host.len() as u64));
            g.bench_with_input(
                BenchmarkId::new("host_bundle", format!("{n}certs-{}KB", host.len() / 1000)),
                &host,
                |b, h| b.iter(|| decode(black_box(h), None)),
            );
        }
        Err(e) => eprintln!("skipping host_bundle: {}: {e}", common::HOST_BUNDLE),
    }
    g.finish();
}

fn bundle_10k(c: &mut Criterion) {
    let fx = common::fixtures();
    let pem = common::pem_bundle(&common::variants(&fx.der, N));
    let d = decode(&pem, None).unwrap_or_else(|e| panic!("10k bundle: {}", e.message()));
    assert_eq!(d.certs.len(), N);
    let mut g = c.benchmark_group("decode");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(pem.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("pem_10k", common::mb(pem.len())),
        &pem,
        |b, pem| b.iter(|| decode(black_box(pem), None)),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = small, bundle_10k
}
criterion_main!(benches);
