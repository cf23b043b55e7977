//! Reading a file the environment names (SSL_CERT_FILE & co.) as this process sees it: links
//! are followed (it is the caller's own setting), but only a regular file is read — a FIFO or a
//! device in its place is refused unread (the open is non-blocking) — and at most `MAX` bytes.

use std::io::Read;
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

/// Larger than any real CA bundle (Mozilla's is ~220 KB); a bigger file is not read.
const MAX: u64 = 64 << 20;

/// What reading the named file gave.
#[derive(Debug)]
pub enum HostFile {
    /// Its bytes.
    Bytes(Vec<u8>),
    /// It does not exist.
    Missing,
    /// It cannot be read: why (one line).
    Unreadable(String),
}

pub fn read(path: &Path) -> HostFile {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) | Err(rustix::io::Errno::NOTDIR) => return HostFile::Missing,
        Err(e) => return HostFile::Unreadable(std::io::Error::from(e).to_string()),
    };
    let st = match rustix::fs::fstat(&fd) {
        Ok(st) => st,
        Err(e) => return HostFile::Unreadable(std::io::Error::from(e).to_string()),
    };
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return HostFile::Unreadable("not a regular file (not read)".into());
    }
    if u64::try_from(st.st_size).unwrap_or(u64::MAX) > MAX {
        return HostFile::Unreadable(format!("larger than {} MiB (not read)", MAX >> 20));
    }
    let mut bytes = Vec::new();
    match std::fs::File::from(fd).take(MAX).read_to_end(&mut bytes) {
        Ok(_) => HostFile::Bytes(bytes),
        Err(e) => HostFile::Unreadable(e.to_string()),
    }
}
