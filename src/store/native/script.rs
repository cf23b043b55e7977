//! Debian 12's `update-ca-certificates` (ca-certificates 20230311; 20250419~deb12u2 is the same for every tree the model accepts) as a function of the tree:
//! `--fresh` clearing, the `!` lines of ca-certificates.conf (`remove`: basename, no
//! mangling), the conf lines in conf order then `find -L LOCAL -type f -name '*.crt' | sort`
//! under `LC_ALL=C` (`add`: mangled link name, relinked only when missing or pointing
//! elsewhere, the file appended to the bundle with `sed -e '$a\'`), then — when a link was
//! added or removed — orphan links removed and `openssl rehash .`. Anything the function does
//! not model (odd conf lines, names `read` would change, a file where a link goes) is
//! `Unsupported`, and the caller leaves the tree to the real script.

use super::model::{Model, Node, CERTS_DIR, CONF, LOCAL_DIR};
use super::rehash::{self, Seen};
use super::Unsupported;
use crate::tree::{Kind, Tree};

/// What the script would do: the directory afterwards, the bundle, the `+`/`-` lines.
#[derive(Debug)]
pub struct Outcome {
    pub model: Model,
    /// `None`: no `add` ran, the bundle is left as it is.
    pub bundle: Option<Vec<u8>>,
    /// `+/etc/ssl/certs/X.pem` lines, then `-…` lines (the update.d hooks' stdin).
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Simulate the script on `model` (the tree's `/etc/ssl/certs`). `fresh`: `--fresh`.
pub fn simulate(tree: &Tree, mut model: Model, fresh: bool) -> Result<Outcome, Unsupported> {
    if model.entries.values().any(|n| *n == Node::Dir) {
        return Err(Unsupported::new("/etc/ssl/certs has a subdirectory"));
    }
    if matches!(model.entries.get(super::model::BUNDLE), Some(Node::Link(_))) {
        // `mv -f` replaces the link; anchorage never writes where a link was planted.
        return Err(Unsupported::new("ca-certificates.crt is a symbolic link"));
    }
    if model
        .entries
        .contains_key(&format!("{}.new", super::model::BUNDLE))
    {
        return Err(Unsupported::new("a ca-certificates.crt.new is left over"));
    }
    let conf = tree
        .read(CONF)
        .map_err(|e| Unsupported::new(e.to_string()))?
        .unwrap_or_default();
    // `[ ! -s "$CERTSCONF" ]`: an empty or missing conf means --fresh.
    let fresh = fresh || conf.is_empty();
    let conf = String::from_utf8(conf).map_err(|_| Unsupported::new("conf is not UTF-8"))?;
    if fresh {
        clear(tree, &mut model)?;
    }
    let mut out = Outcome {
        model,
        bundle: None,
        added: Vec::new(),
        removed: Vec::new(),
    };
    for line in conf.lines() {
        if let Some(rest) = line.strip_prefix('!') {
            let crt = read_word(rest)?;
            let cert = format!("{CERTS_DIR}/{crt}");
            let pem = format!("{}.pem", basename(&cert, false));
            if matches!(out.model.entries.get(&pem), Some(Node::Link(_))) {
                out.model.entries.remove(&pem);
                out.removed.push(format!("-/etc/ssl/certs/{pem}"));
            }
        }
    }
    let mut bundle = Vec::new();
    let mut any_add = false;
    for line in conf.lines() {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let crt = read_word(line)?;
        let cert = format!("{CERTS_DIR}/{crt}");
        if tree.kind_following(&cert) != Some(Kind::File) {
            continue; // "W: … not found, but listed in …"
        }
        add(tree, &cert, &mut out, &mut bundle)?;
        any_add = true;
    }
    for cert in local_certs(tree)? {
        add(tree, &cert, &mut out, &mut bundle)?;
        any_add = true;
    }
    if !out.added.is_empty() || !out.removed.is_empty() {
        let names: Vec<String> = out.model.entries.keys().cloned().collect();
        for name in names {
            if matches!(out.model.entries.get(&name), Some(Node::Link(_)))
                && out.model.follow(tree, &name)?.is_none()
            {
                out.model.entries.remove(&name);
            }
        }
        rehash::rehash(&mut out.model, tree, &mut Seen::new())?;
    }
    out.bundle = any_add.then_some(bundle);
    Ok(out)
}

/// `--fresh`: links into the certificate directories go, then every link that is not a file.
fn clear(tree: &Tree, model: &mut Model) -> Result<(), Unsupported> {
    model.entries.retain(|_, n| match n {
        Node::Link(t) => !(t.starts_with(CERTS_DIR) || t.starts_with(LOCAL_DIR)),
        _ => true,
    });
    let names: Vec<String> = model.entries.keys().cloned().collect();
    let mut gone = Vec::new();
    for name in names {
        if matches!(model.entries.get(&name), Some(Node::Link(_)))
            && model.follow(tree, &name)? != Some(Kind::File)
        {
            gone.push(name);
        }
    }
    // `find | while read` removes as it goes; a link is judged before or after the links it
    // leads through go, so a chain through a removed link is refused rather than guessed.
    for name in &gone {
        if let Some(Node::Link(t)) = model.entries.get(name) {
            if !t.starts_with('/') && !gone.contains(t) && model.entries.contains_key(t) {
                return Err(Unsupported::new(format!("link chain through {name}")));
            }
        }
    }
    for name in gone {
        model.entries.remove(&name);
    }
    Ok(())
}

/// `add "$CERT"`.
fn add(
    tree: &Tree,
    cert: &str,
    out: &mut Outcome,
    bundle: &mut Vec<u8>,
) -> Result<(), Unsupported> {
    let pem = format!("{}.pem", basename(cert, true));
    let current = out.model.entries.get(&pem).cloned();
    let exists = out.model.follow(tree, &pem)?.is_some();
    let same = matches!(&current, Some(Node::Link(t)) if t == cert);
    if !exists || !same {
        match current {
            None | Some(Node::Link(_)) => {}
            Some(_) => return Err(Unsupported::new(format!("{pem} is not a link"))),
        }
        out.model
            .entries
            .insert(pem.clone(), Node::Link(cert.to_string()));
        out.added.push(format!("+/etc/ssl/certs/{pem}"));
    }
    let bytes = tree
        .read(cert)
        .map_err(|e| Unsupported::new(e.to_string()))?
        .unwrap_or_default();
    bundle.extend_from_slice(&bytes);
    // sed -e '$a\': a last line without its newline gets one; an empty file adds nothing.
    if bytes.last().is_some_and(|&b| b != b'\n') {
        bundle.push(b'\n');
    }
    Ok(())
}

/// `basename "$CERT" .crt`, mangled as `add` does (`remove` does not).
fn basename(path: &str, mangle: bool) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = match base.strip_suffix(".crt") {
        Some(s) if !s.is_empty() => s,
        _ => base,
    };
    if !mangle {
        return stem.to_string();
    }
    stem.chars()
        .map(|c| match c {
            ' ' | ',' => '_',
            '(' | ')' => '=',
            c => c,
        })
        .collect()
}

/// What `while read crt` makes of a line: refused when `read` would change more than the
/// surrounding blanks (backslashes) or the word is not a plain relative path.
fn read_word(line: &str) -> Result<String, Unsupported> {
    let word = line.trim_matches([' ', '\t']);
    if word.contains('\\') || word.is_empty() || word.contains("..") || word.starts_with('/') {
        return Err(Unsupported::new(format!("conf line {line:?}")));
    }
    Ok(word.to_string())
}

/// `find -L "$LOCALCERTSDIR" -type f -name '*.crt' | sort` (bytewise: the hook runs with
/// `LC_ALL=C`), as the paths the script passes to `add`.
fn local_certs(tree: &Tree) -> Result<Vec<String>, Unsupported> {
    let mut found = Vec::new();
    let mut stack = vec![LOCAL_DIR.to_string()];
    let mut depth = 0;
    while let Some(dir) = stack.pop() {
        depth += 1;
        if depth > 4096 {
            return Err(Unsupported::new("too many directories under the local dir"));
        }
        let listing = match tree.dir(&dir) {
            Ok(Some(d)) => d.entries().map_err(|e| Unsupported::new(e.to_string()))?,
            Ok(None) if dir == LOCAL_DIR => return Ok(found),
            Ok(None) => continue,
            Err(e) => return Err(Unsupported::new(e.to_string())),
        };
        for (name, kind) in listing {
            if name.contains(['\n', '\\']) || name.trim() != name {
                return Err(Unsupported::new(format!("local name {name:?}")));
            }
            let path = format!("{dir}/{name}");
            match tree.kind_following(&path) {
                Some(Kind::Dir) if kind == Kind::Link => {
                    return Err(Unsupported::new(format!("{path} links to a directory")))
                }
                Some(Kind::Dir) => stack.push(path),
                Some(Kind::File) if name.ends_with(".crt") => found.push(path),
                _ => {}
            }
        }
    }
    found.sort();
    Ok(found)
}
