//! anchorage: install CA certificates as trust anchors on Linux, idempotently and proven by
//! effect. The library holds the pure core (decoding, policy, planning) and the edges (stores,
//! hooks) so the binary, the benchmarks and the fuzz targets share one implementation.
//! See docs/ARCHITECTURE.md for the data flow.

pub mod apply;
pub mod cert;
pub mod cli;
pub mod commands;
pub mod effect;
pub mod error;
pub mod fsx;
pub mod input;
pub mod last_run;
pub mod lock;
pub mod manpage;
pub mod metrics;
pub mod plan;
pub mod platform;
pub mod policy;
pub mod probe;
pub mod report;
pub mod request;
pub mod run;
pub mod runtimes;
pub mod store;
pub mod supervise;
pub mod text_safe;
pub mod tree;
pub mod users;
pub mod watcher;
