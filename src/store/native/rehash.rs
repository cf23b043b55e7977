//! `openssl rehash .` (OpenSSL 3's apps/rehash.c) on the model: names sorted bytewise; a
//! link named like a hash link (`%08x.N`) is an old link, its target the entry's file name;
//! every other name with a `.pem`/`.crt`/`.cer`/`.crl` extension that holds exactly one
//! certificate joins its subject hash's bucket unless a certificate with the same SHA-1
//! fingerprint is already there ("skipping duplicate"). Per bucket, in the order entries were
//! met: an old link whose number is below the bucket's count of certificates stays as it is;
//! a certificate without such a link takes the lowest free number; other old links go.

use std::collections::HashMap;

use sha1::{Digest, Sha1};

use super::hash;
use super::model::{Model, Node};
use super::Unsupported;
use crate::input::pem;
use crate::tree::Tree;

const MAX_COLLISIONS: usize = 256;
const EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "crl"];

/// Whether `openssl rehash` looks at a file with this extension.
pub fn has_extension(ext: &str) -> bool {
    EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

struct HEntry {
    filename: String,
    old_id: Option<u32>,
    digest: Option<[u8; 20]>,
}

#[derive(Default)]
struct Bucket {
    entries: Vec<HEntry>,
    needed: usize,
}

/// Cache of what a file holds: its path in the tree → (hash, SHA-1) or nothing to link.
pub type Seen = HashMap<String, Option<(u32, [u8; 20])>>;

/// Run rehash over `model`, changing it as rehash changes the directory.
pub fn rehash(model: &mut Model, tree: &Tree, seen: &mut Seen) -> Result<(), Unsupported> {
    let mut buckets: HashMap<u32, Bucket> = HashMap::new();
    let mut order: Vec<u32> = Vec::new();
    let names: Vec<String> = model.entries.keys().cloned().collect();
    for name in &names {
        if let Some(Node::Link(target)) = model.entries.get(name) {
            if let Some((h, id)) = hash_link(name)? {
                add(&mut buckets, &mut order, h, target, None, Some(id))?;
                continue;
            }
        }
        let Some((_, ext)) = name.rsplit_once('.') else {
            continue;
        };
        if !EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
            continue;
        }
        let Some(path) = model.file_path(tree, name)? else {
            if model.follow(tree, name)?.is_some() {
                return Err(Unsupported::new(format!("{name} is not a regular file")));
            }
            continue;
        };
        let content = match seen.get(&path) {
            Some(c) => *c,
            None => {
                let bytes = tree
                    .read(&path)
                    .map_err(|e| Unsupported::new(format!("cannot read {path}: {e}")))?
                    .unwrap_or_default();
                let c = one_certificate(&bytes, name)?;
                seen.insert(path, c);
                c
            }
        };
        if let Some((h, digest)) = content {
            add(&mut buckets, &mut order, h, name, Some(digest), None)?;
        }
    }
    for h in order {
        let Some(b) = buckets.remove(&h) else {
            continue;
        };
        let mut used = vec![false; b.needed];
        for e in &b.entries {
            if let Some(id) = e.old_id.filter(|&i| (i as usize) < b.needed) {
                used[id as usize] = true;
            }
        }
        for e in b.entries {
            match e.old_id {
                Some(id) if (id as usize) < b.needed => {}
                _ if e.digest.is_some() => {
                    let next = used.iter().position(|u| !u).unwrap_or(used.len());
                    if next < used.len() {
                        used[next] = true;
                    }
                    model
                        .entries
                        .insert(format!("{h:08x}.{next}"), Node::Link(e.filename));
                }
                Some(id) => {
                    model.entries.remove(&format!("{h:08x}.{id}"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

fn add(
    buckets: &mut HashMap<u32, Bucket>,
    order: &mut Vec<u32>,
    h: u32,
    filename: &str,
    digest: Option<[u8; 20]>,
    old_id: Option<u32>,
) -> Result<(), Unsupported> {
    let b = buckets.entry(h).or_insert_with(|| {
        order.push(h);
        Bucket::default()
    });
    if digest.is_some() && b.entries.iter().any(|e| e.digest == digest) {
        // "skipping duplicate certificate"
        return Ok(());
    }
    let i = match b.entries.iter().position(|e| e.filename == filename) {
        Some(i) => i,
        None => {
            if b.needed >= MAX_COLLISIONS {
                return Err(Unsupported::new("more than 256 subject-hash collisions"));
            }
            b.entries.push(HEntry {
                filename: filename.to_string(),
                old_id: None,
                digest: None,
            });
            b.entries.len() - 1
        }
    };
    let e = &mut b.entries[i];
    if let Some(id) = old_id {
        e.old_id = Some(e.old_id.map_or(id, |o| o.min(id)));
    }
    if digest.is_some() && e.digest.is_none() {
        e.digest = digest;
        b.needed += 1;
    }
    Ok(())
}

/// `%08x.N` (rehash's `handle_symlink`): the hash and number. Names rehash would read as hash
/// links but would not write back the same way (upper case, a CRL's `r`, `01`) are refused.
fn hash_link(name: &str) -> Result<Option<(u32, u32)>, Unsupported> {
    let b = name.as_bytes();
    if b.len() < 9 || !b[..8].iter().all(u8::is_ascii_hexdigit) || b[8] != b'.' {
        return Ok(None);
    }
    let rest = &name[9..];
    let canonical = |h: &str, n: &str| {
        h.bytes().all(|c| !c.is_ascii_uppercase())
            && !n.is_empty()
            && n.bytes().all(|c| c.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'))
    };
    if canonical(&name[..8], rest) {
        let h = u32::from_str_radix(&name[..8], 16).ok();
        let n = rest.parse().ok();
        if let (Some(h), Some(n)) = (h, n) {
            return Ok(Some((h, n)));
        }
    }
    // strtoul would accept it (or it is a CRL link): not a shape the script produces.
    let crl = rest.strip_prefix(['r', 'R']).unwrap_or(rest);
    if crl.is_empty()
        || crl
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-')
    {
        return Err(Unsupported::new(format!("hash-like link name {name}")));
    }
    Ok(None)
}

/// What `PEM_X509_INFO_read_bio` + "exactly one certificate" make of a file: its subject hash
/// and SHA-1 fingerprint, or `None` (rehash skips it). Keys and CRLs are left to the hook.
fn one_certificate(bytes: &[u8], name: &str) -> Result<Option<(u32, [u8; 20])>, Unsupported> {
    let mut frames = Vec::new();
    for f in pem::frames(bytes) {
        let f = f.map_err(|e| Unsupported::new(format!("{name}: {e}")))?;
        match f.label {
            b"CERTIFICATE" | b"X509 CERTIFICATE" | b"TRUSTED CERTIFICATE" => frames.push(f),
            l if l.ends_with(b"PRIVATE KEY") || l.ends_with(b"CRL") => {
                return Err(Unsupported::new(format!("{name} holds a key or a CRL")))
            }
            _ => {}
        }
        if frames.len() > 1 {
            return Ok(None);
        }
    }
    let [f] = frames.as_slice() else {
        return Ok(None);
    };
    let der = f
        .decode(&mut Vec::new())
        .map_err(|e| Unsupported::new(format!("{name}: {e}")))?;
    // TRUSTED CERTIFICATE: the certificate, then the trust settings.
    let cert = crate::input::asn1::read(&der, 0)
        .map(|(t, _)| t.raw.to_vec())
        .map_err(|e| Unsupported::new(format!("{name}: {e}")))?;
    let h = hash::subject_hash(&cert)
        .ok_or_else(|| Unsupported::new(format!("{name}: a subject OpenSSL may read otherwise")))?;
    Ok(Some((h, Sha1::digest(&cert).into())))
}
