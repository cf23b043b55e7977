//! The corpus: each item is the arguments of one `install --no-update`, the exit code expected
//! (65 bad input, 66 missing source) and the path the error must name. Built in the order of
//! its three parts, from one PRNG seed.

mod containers;
mod encodings;
mod filesystem;
mod keystores;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};

use super::der::Rng;
use super::fixtures::fixtures;
use super::{BAD_INPUT, SEED};

/// A PEM certificate block with nothing in it.
pub const EMPTY_BLOCK: &[u8] = b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";

/// What the error message must name.
#[derive(Debug, Clone)]
pub enum Named {
    /// Exactly this path (`PATH: message`).
    Exact(PathBuf),
    /// A path under this directory (the walker reports the entry it tripped on).
    Under(PathBuf),
}

#[derive(Debug)]
pub struct Item {
    pub name: String,
    /// Arguments after `install --no-update`.
    pub args: Vec<OsString>,
    /// A file for standard input (otherwise /dev/null).
    pub stdin: Option<PathBuf>,
    pub expect: u8,
    pub named: Named,
}

pub struct Corpus {
    pub dir: PathBuf,
    pub items: Vec<Item>,
}

impl Corpus {
    fn path(&self, name: impl AsRef<OsStr>) -> PathBuf {
        self.dir.join(name.as_ref())
    }

    fn push(&mut self, name: &str, args: Vec<OsString>, expect: u8, named: Named) {
        assert!(
            !self.items.iter().any(|i| i.name == name),
            "duplicate corpus item {name}"
        );
        self.items.push(Item {
            name: name.to_string(),
            args,
            stdin: None,
            expect,
            named,
        });
    }

    /// Write `bytes` to the file `name` and expect `install FILE` to fail with 65 naming it.
    fn bad_file(&mut self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write corpus file");
        self.push(
            name,
            vec![path.clone().into()],
            BAD_INPUT,
            Named::Exact(path.clone()),
        );
        path
    }

    /// Like `bad_file` but with extra arguments (for example `--password-file`) first.
    fn bad_file_with(&mut self, name: &str, bytes: &[u8], before: &[&OsStr]) {
        let path = self.path(name);
        fs::write(&path, bytes).expect("write corpus file");
        let mut args: Vec<OsString> = before.iter().map(|a| a.to_os_string()).collect();
        args.push(path.clone().into());
        self.push(name, args, BAD_INPUT, Named::Exact(path));
    }

    fn mkdir(&self, name: impl AsRef<OsStr>) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(&path).expect("mkdir");
        path
    }
}

pub fn build_corpus(dir: &Path) -> Corpus {
    let fx = fixtures();
    let mut c = Corpus {
        dir: dir.to_path_buf(),
        items: Vec::new(),
    };
    // The parts draw from the one PRNG in this order, so the corpus is the same every run.
    let mut rng = Rng(SEED);
    encodings::add(&mut c, &mut rng, fx);
    containers::add(&mut c, &mut rng, fx);
    filesystem::add(&mut c, fx);
    keystores::add(&mut c, fx);
    c
}
