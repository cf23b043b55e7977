//! Planning over 10,000 anchors: `policy::decide` on a loaded 10k bundle, `plan::diff` of
//! 10,000 desired against 10,000 managed (half in place, half new; the other managed half is
//! not desired), and the whole pure pipeline load → decide → diff.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

use anchorage::cert::Certificate;
use anchorage::input::source::{load, Missing};
use anchorage::plan::{diff, Mode};
use anchorage::policy::{decide, Allow, Candidate};
use anchorage::store::Entry;

mod common;

const N: usize = 10_000;
const HALF: usize = N / 2;

fn managed(cert: &Certificate, name: String) -> Entry {
    Entry {
        path: PathBuf::from(format!(
            "/usr/local/share/ca-certificates/anchorage/{name}.crt"
        )),
        nickname: String::new(),
        name,
        cert: Some(cert.clone()),
        problem: None,
        registered: true,
        ours: true,
        trust: String::new(),
    }
}

fn bench(c: &mut Criterion) {
    let fx = common::fixtures();
    // 15,000 distinct certificates: 0..10,000 desired, 0..5,000 and 10,000..15,000 managed.
    let ders = common::variants(&fx.der, N + HALF);
    let pem = common::pem_bundle(&ders[..N]);
    let (_dir, path) = common::temp_file("bundle-10k.pem", &pem);
    let sources = vec![path.to_path_buf()];
    let now = anchorage::cert::now();

    let loaded = load(&sources, None, Missing::Error).expect("load the 10k bundle");
    assert_eq!(loaded.certs.len(), N);
    let decision = decide(&loaded, Allow::default(), None, now).expect("decide");
    assert_eq!(decision.accepted.len(), N);
    let desired: Vec<Candidate> = decision.accepted;

    let extra = common::parse_all(&ders[N..]);
    let mut store: Vec<Entry> = desired[..HALF]
        .iter()
        .map(|d| managed(&d.cert, d.name.clone()))
        .collect();
    store.extend(
        extra
            .iter()
            .enumerate()
            .map(|(i, cert)| managed(cert, format!("old-{i:05}"))),
    );
    let effective: HashSet<[u8; 32]> = store
        .iter()
        .filter_map(|m| m.cert.as_ref())
        .map(|c| c.sha256)
        .collect();

    let install = diff(&desired, &store, Some(&effective), Mode::Install);
    assert_eq!(
        (install.add.len(), install.keep.len(), install.remove.len()),
        (HALF, HALF, 0)
    );
    let sync = diff(&desired, &store, Some(&effective), Mode::Sync);
    assert_eq!(
        (sync.add.len(), sync.keep.len(), sync.remove.len()),
        (HALF, HALF, HALF)
    );

    let mut g = c.benchmark_group("plan_10k");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500));
    g.bench_function("policy_decide", |b| {
        b.iter(|| decide(black_box(&loaded), Allow::default(), None, now))
    });
    for (name, mode) in [("diff_install", Mode::Install), ("diff_sync", Mode::Sync)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                diff(
                    black_box(&desired),
                    black_box(&store),
                    Some(&effective),
                    mode,
                )
            })
        });
    }
    g.finish();

    // Whole pure pipeline from the file: read + decode + de-duplicate, decide, diff. This is
    // the number to hold against "10,000-certificate bundle decoded and planned in <= 100 ms".
    let mut g = c.benchmark_group("pipeline_10k");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(pem.len() as u64));
    g.bench_function(
        BenchmarkId::new("load_decide_diff_sync", common::mb(pem.len())),
        |b| {
            b.iter(|| {
                let loaded = load(black_box(&sources), None, Missing::Error).expect("load");
                let decision = decide(&loaded, Allow::default(), None, now).expect("decide");
                diff(&decision.accepted, &store, Some(&effective), Mode::Sync)
            })
        },
    );
    // The same bundle given twice: all 10,000 certificates of the second copy are duplicates,
    // which exercises `source::add_file`'s duplicate path.
    let twice = vec![sources[0].clone(), sources[0].clone()];
    g.throughput(Throughput::Bytes(2 * pem.len() as u64));
    g.bench_function(
        BenchmarkId::new("load_same_bundle_twice", common::mb(2 * pem.len())),
        |b| b.iter(|| load(black_box(&twice), None, Missing::Error)),
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = bench
}
criterion_main!(benches);
