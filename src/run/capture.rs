//! Bounded capture of a program's stdout and stderr: both pipes polled from the calling
//! thread (no reader thread to join, so a descendant holding a pipe open cannot keep us
//! waiting), every byte drained so the writer never blocks on a full pipe, and only the first
//! and last `KEEP` bytes of each stream kept, with a marker saying how much was left out (a
//! hook writing 100 MB costs 100 MB of reading, not of memory).

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::io::Errno;

/// Bytes kept from the start and from the end of each stream.
pub const KEEP: usize = 32 * 1024;

/// The first and last `KEEP` bytes of a stream, and how many there were in all.
#[derive(Debug, Default)]
struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
}

impl Capture {
    fn push(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = KEEP.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        bytes = &bytes[room..];
        if bytes.len() >= KEEP {
            self.tail.clear();
            bytes = &bytes[bytes.len() - KEEP..];
        }
        self.tail.extend(bytes);
        let excess = self.tail.len().saturating_sub(KEEP);
        self.tail.drain(..excess);
    }

    fn finish(self) -> String {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let mut out = self.head;
        let omitted = self.total.saturating_sub(kept);
        if omitted > 0 {
            out.extend_from_slice(format!("\n… [{omitted} bytes omitted] …\n").as_bytes());
        }
        out.extend(self.tail);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A pipe (closed at EOF) and what it gave.
struct Stream {
    fd: Option<OwnedFd>,
    capture: Capture,
}

/// The program's stdout and stderr.
pub struct Streams([Stream; 2]);

impl Streams {
    pub fn new(fds: [Option<OwnedFd>; 2]) -> Streams {
        Streams(fds.map(|fd| Stream {
            fd,
            capture: Capture::default(),
        }))
    }

    pub fn all_closed(&self) -> bool {
        self.0.iter().all(|s| s.fd.is_none())
    }

    /// Wait at most `wait` for output, then read what is there (one read per ready pipe).
    /// Returns whether anything was read or closed.
    pub fn read_some(&mut self, wait: Duration) -> bool {
        let open: Vec<usize> = (0..2).filter(|&i| self.0[i].fd.is_some()).collect();
        if open.is_empty() {
            std::thread::sleep(wait);
            return false;
        }
        let timeout = Timespec {
            tv_sec: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(wait.subsec_nanos()),
        };
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd<'_>> = self
                .0
                .iter()
                .filter_map(|s| s.fd.as_ref())
                .map(|fd| PollFd::new(fd, PollFlags::IN))
                .collect();
            match rustix::event::poll(&mut fds, Some(&timeout)) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            open.iter()
                .zip(&fds)
                .filter(|(_, p)| !p.revents().is_empty())
                .map(|(&i, _)| i)
                .collect()
        };
        let mut buf = vec![0u8; 64 * 1024];
        for i in &ready {
            let s = &mut self.0[*i];
            let Some(fd) = s.fd.as_ref() else { continue };
            match rustix::io::read(fd, &mut buf) {
                Ok(0) => s.fd = None,
                Ok(n) => s.capture.push(&buf[..n]),
                Err(Errno::INTR) | Err(Errno::AGAIN) => {}
                Err(_) => s.fd = None,
            }
        }
        !ready.is_empty()
    }

    /// Read what is already in the pipes, for at most `budget`, without waiting for writers.
    pub fn drain_ready(&mut self, budget: Duration) {
        let end = Instant::now() + budget;
        while Instant::now() < end && self.read_some(Duration::ZERO) {}
    }

    /// stdout and stderr, each at most `2 * KEEP` bytes plus the omission marker.
    pub fn finish(self) -> [String; 2] {
        self.0.map(|s| s.capture.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_everything_up_to_twice_keep() {
        let mut c = Capture::default();
        let data: Vec<u8> = (0..2 * KEEP).map(|i| b'a' + (i % 26) as u8).collect();
        for chunk in data.chunks(1000) {
            c.push(chunk);
        }
        assert_eq!(c.finish().as_bytes(), &data[..]);
    }

    #[test]
    fn keeps_the_first_and_last_keep_bytes_and_says_how_many_were_left_out() {
        let mut c = Capture::default();
        c.push(&vec![b'h'; KEEP]);
        for _ in 0..100 {
            c.push(&vec![b'm'; 10_000]);
        }
        c.push(&vec![b't'; KEEP - 1]);
        c.push(b"!");
        let s = c.finish();
        assert!(s.starts_with(&"h".repeat(KEEP)));
        assert!(s.ends_with(&format!("{}!", "t".repeat(KEEP - 1))));
        assert!(s.contains("… [1000000 bytes omitted] …"), "{}", s.len());
        assert!(!s.contains("mm"), "nothing from the middle");
        assert!(s.len() < 2 * KEEP + 100);
    }
}
