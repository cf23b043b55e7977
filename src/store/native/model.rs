//! `/etc/ssl/certs` as a value: every entry with its kind (and a link's target), so the
//! script's steps and `openssl rehash` run on the value and only the difference is written.
//! Links are resolved the way `test -e`/`test -f` resolve them in the tree: a bare name
//! through the model, an absolute target inside the tree.

use std::collections::BTreeMap;

use super::Unsupported;
use crate::tree::{Dir, Kind, Tree};

/// Where the script's directories are, relative to the root, and as the script names them.
pub const ETC_CERTS: &str = "etc/ssl/certs";
pub const CERTS_DIR: &str = "/usr/share/ca-certificates";
pub const LOCAL_DIR: &str = "/usr/local/share/ca-certificates";
pub const CONF: &str = "etc/ca-certificates.conf";
pub const HOOKS_DIR: &str = "etc/ca-certificates/update.d";
pub const BUNDLE: &str = "ca-certificates.crt";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Link(String),
    File,
    Dir,
    Special,
}

/// The entries of `/etc/ssl/certs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub entries: BTreeMap<String, Node>,
}

impl Model {
    pub fn read(dir: &Dir) -> crate::error::Result<Model> {
        let mut entries = BTreeMap::new();
        for (name, kind) in dir.entries()? {
            let node = match kind {
                Kind::Link => match dir.read_link(&name)? {
                    Some(t) => Node::Link(t),
                    None => continue,
                },
                Kind::File => Node::File,
                Kind::Dir => Node::Dir,
                Kind::Special => Node::Special,
            };
            entries.insert(name, node);
        }
        Ok(Model { entries })
    }

    /// What `name` is once links are followed (`None`: dangling or absent).
    pub fn follow(&self, tree: &Tree, name: &str) -> Result<Option<Kind>, Unsupported> {
        let mut cur = name.to_string();
        for _ in 0..40 {
            match self.entries.get(&cur) {
                None => return Ok(None),
                Some(Node::File) => return Ok(Some(Kind::File)),
                Some(Node::Dir) => return Ok(Some(Kind::Dir)),
                Some(Node::Special) => return Ok(Some(Kind::Special)),
                Some(Node::Link(t)) => {
                    if let Some(abs) = t.strip_prefix('/') {
                        if abs.starts_with(ETC_CERTS) {
                            return Err(Unsupported::new(format!(
                                "{cur} links into /etc/ssl/certs by an absolute path"
                            )));
                        }
                        return Ok(tree.kind_following(abs));
                    }
                    if t.contains('/') {
                        return Err(Unsupported::new(format!(
                            "{cur} is a relative link with a directory ({t})"
                        )));
                    }
                    cur = t.clone();
                }
            }
        }
        Ok(None)
    }

    /// The tree path of the file `name` finally names (for reading it), if it is one.
    pub fn file_path(&self, tree: &Tree, name: &str) -> Result<Option<String>, Unsupported> {
        if self.follow(tree, name)? != Some(Kind::File) {
            return Ok(None);
        }
        let mut cur = name.to_string();
        loop {
            match self.entries.get(&cur) {
                Some(Node::Link(t)) if !t.starts_with('/') => cur = t.clone(),
                Some(Node::Link(t)) => return Ok(Some(t.trim_start_matches('/').to_string())),
                _ => return Ok(Some(format!("{ETC_CERTS}/{cur}"))),
            }
        }
    }
}
