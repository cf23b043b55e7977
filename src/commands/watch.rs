//! `anchorage watch`: sync once, then watch the sources (`watcher::Loop`) and sync again after
//! every debounced change; `--on-change` commands (and CMD after `--`) after a sync that
//! changed something; the metrics file rewritten after every sync. A failed sync (a broken
//! source, a hook that failed) is reported and changes nothing more: the last good state stays
//! and the next event retries. SIGHUP syncs at once; SIGTERM/SIGINT end the loop (exit 0).

use nix::sys::signal::Signal;

use super::change::{converge, desired};
use crate::error::Result;
use crate::input::source::Missing;
use crate::plan::Mode;
use crate::platform::Target;
use crate::report::{self, Failure, Next, Outcome, Report};
use crate::request::{Global, WatchRequest};
use crate::store::nss;
use crate::watcher::{Loop, Wake};

pub fn watch(global: &Global, req: &WatchRequest) -> Result<u8> {
    // A dry run that applied every change (and ran the hooks) would be worse than none.
    if req.opts.check {
        return Err(crate::error::Error::usage_hint(
            "watch --check: watch applies every change; it has no dry run",
            "to see what a sync would change, run `anchorage sync --check SOURCE...`",
        ));
    }
    if req.sources.iter().any(|s| s.as_os_str() == "-") {
        return Err(crate::error::Error::usage_hint(
            "watch: `-` (stdin) cannot be watched",
            "name the files or directories to watch",
        ));
    }
    let mut events = Loop::new(
        &req.sources,
        &[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP],
        req.debounce,
    )?;
    sync_once(global, req);
    loop {
        match events.next(None)? {
            Some(Wake::Sync) => {
                tracing::info!("watch: the sources changed; syncing");
                sync_once(global, req);
            }
            Some(Wake::Signal(Signal::SIGHUP)) => {
                events.rewatch()?;
                sync_once(global, req);
            }
            Some(Wake::Signal(sig)) => {
                if !global.quiet {
                    eprintln!("anchorage: watch: {sig}, exiting");
                }
                return Ok(crate::error::code::OK);
            }
            None => {}
        }
    }
}

/// One sync of the sources, rendered like `anchorage sync`; its state recorded; the metrics
/// written. Returns the exit code that sync would have had.
pub fn sync_once(global: &Global, req: &WatchRequest) -> u8 {
    let result = sync(global, req).map_err(|mut f| {
        f.error = f.error.in_root(&global.root);
        f
    });
    let (success, changed) = match &result {
        Ok(r) => (true, r.changed),
        Err(f) => (false, f.partial.as_ref().is_some_and(|p| p.changed)),
    };
    crate::last_run::record(&global.root, "watch", success, changed);
    if let Some(path) = &req.metrics {
        let written = crate::metrics::metrics(global).and_then(|text| {
            crate::fsx::write_atomic(path, text.as_bytes(), "cannot write the metrics")
        });
        if let Err(e) = written {
            eprintln!(
                "warning: metrics: {}",
                crate::text_safe::escape(&e.to_string())
            );
        }
    }
    match report::render(result.map(Outcome::Change), global.format, global.quiet) {
        Next::Exit(code) => code,
        Next::Exec(..) => crate::error::code::OK,
    }
}

fn sync(global: &Global, req: &WatchRequest) -> std::result::Result<Report, Failure> {
    let wanted = desired(&req.sources, &req.opts, Mode::Sync, Missing::Error)?;
    let target = Target::open(&global.root, global.platform)?;
    let nss = nss::open(&target, &global.nss)?;
    let java = crate::store::java::open(&target, &global.java)?;
    converge(&target, nss, java, &wanted, Mode::Sync, &req.opts)
        .and_then(|r| super::on_change::after(r, &req.opts))
}
