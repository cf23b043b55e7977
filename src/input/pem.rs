//! A PEM block scanner: every `-----BEGIN LABEL-----` line (at the start of a line) up to the
//! next `-----END ` line, base64-decoded. Text around blocks (`openssl x509 -text`, comments,
//! invalid UTF-8) is ignored. It replaces x509-parser's line-by-line `Pem::read`, which
//! allocated a String per line and was a quarter of the time of a 10,000-certificate bundle;
//! like that reader, it sees every label, so keys and other blocks are reported, not missed.

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"\n-----END ";

pub struct Block {
    pub label: String,
    pub contents: Vec<u8>,
}

/// The blocks of `bytes`, in order; a malformed block ends the iteration with its error.
pub fn blocks(bytes: &[u8]) -> Blocks<'_> {
    Blocks {
        bytes,
        pos: 0,
        b64: Vec::new(),
        failed: false,
    }
}

pub struct Blocks<'a> {
    bytes: &'a [u8],
    pos: usize,
    b64: Vec<u8>,
    failed: bool,
}

impl Blocks<'_> {
    fn fail(&mut self, msg: &str) -> Option<Result<Block, String>> {
        self.failed = true;
        Some(Err(msg.to_string()))
    }
}

impl Iterator for Blocks<'_> {
    type Item = Result<Block, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        // The next BEGIN marker that starts a line.
        let start = loop {
            let rest = self.bytes.get(self.pos..)?;
            let at = self.pos + memchr::memmem::find(rest, BEGIN)?;
            if at == 0 || self.bytes[at - 1] == b'\n' {
                break at;
            }
            self.pos = at + BEGIN.len();
        };
        let line_end =
            memchr::memchr(b'\n', &self.bytes[start..]).map_or(self.bytes.len(), |i| start + i);
        let header = &self.bytes[start + BEGIN.len()..line_end];
        let Some(close) = memchr::memmem::find(header, b"-----") else {
            return self.fail("invalid BEGIN line");
        };
        let label = String::from_utf8_lossy(&header[..close]).into_owned();
        if line_end >= self.bytes.len() {
            return self.fail("no END line");
        }
        let Some(end_rel) = memchr::memmem::find(&self.bytes[line_end..], END) else {
            return self.fail("no END line");
        };
        let body_end = line_end + end_rel;
        let body = &self.bytes[line_end + 1..body_end.max(line_end + 1)];
        // Continue after the END line.
        let end_line = body_end + 1;
        self.pos = memchr::memchr(b'\n', &self.bytes[end_line..])
            .map_or(self.bytes.len(), |i| end_line + i + 1);
        self.b64.clear();
        self.b64
            .extend(body.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        match data_encoding::BASE64.decode(&self.b64) {
            Ok(contents) => Some(Ok(Block { label, contents })),
            Err(_) => self.fail("invalid base64 (or RFC 1421 headers) in the block"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_between_text_and_crlf() {
        let text = b"junk\xff\n-----BEGIN CERTIFICATE-----\r\nAQID\r\n-----END CERTIFICATE-----\r\nmore\n-----BEGIN EC PRIVATE KEY-----\nBAU=\n-----END EC PRIVATE KEY-----\n";
        let v: Vec<Block> = blocks(text).map(|b| b.unwrap()).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(
            (v[0].label.as_str(), v[0].contents.as_slice()),
            ("CERTIFICATE", &[1u8, 2, 3][..])
        );
        assert_eq!(
            (v[1].label.as_str(), v[1].contents.as_slice()),
            ("EC PRIVATE KEY", &[4u8, 5][..])
        );
    }

    #[test]
    fn markers_not_at_line_start_are_ignored_and_bad_blocks_fail() {
        assert_eq!(
            blocks(b"x-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n").count(),
            0
        );
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\nAQID\n")
            .next()
            .unwrap()
            .is_err());
        assert!(
            blocks(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----")
                .next()
                .unwrap()
                .is_err()
        );
        let empty = blocks(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
            .next()
            .unwrap()
            .unwrap();
        assert!(empty.contents.is_empty());
    }
}
