//! `store::bundle::digests`: the no-parse read of an effective bundle, on 10,000 synthetic
//! certificates and on the host's own bundle.

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

use anchorage::store::bundle::digests;

mod common;

const N: usize = 10_000;

fn bench(c: &mut Criterion) {
    let fx = common::fixtures();
    let pem = common::pem_bundle(&common::variants(&fx.der, N));
    assert_eq!(digests(&pem).len(), N);
    let mut g = c.benchmark_group("bundle_digests");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(pem.len() as u64));
    g.bench_with_input(
        BenchmarkId::new("pem_10k", common::mb(pem.len())),
        &pem,
        |b, pem| b.iter(|| digests(black_box(pem))),
    );
    match std::fs::read(common::HOST_BUNDLE) {
        Ok(host) => {
            g.sample_size(50)
                .sampling_mode(SamplingMode::Auto)
                .measurement_time(Duration::from_secs(2));
            let n = digests(&host).len();
            g.throughput(Throughput::Bytes(host.len() as u64));
            g.bench_with_input(
                BenchmarkId::new("host_bundle", format!("{n}certs-{}KB", host.len() / 1000)),
                &host,
                |b, h| b.iter(|| digests(black_box(h))),
            );
        }
        Err(e) => eprintln!("skipping host_bundle: {}: {e}", common::HOST_BUNDLE),
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench
}
criterion_main!(benches);
