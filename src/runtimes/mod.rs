//! Will each TLS runtime in the tree trust the managed anchors? (`doctor --runtimes`, issue 16)
//! Detection returns typed rows, reused by `doctor` and by `metrics`.

pub mod host;
