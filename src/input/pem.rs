//! A PEM block scanner: `frames` finds every `-----BEGIN LABEL-----` line (at the start of a
//! line) up to the next `-----END ` line; `Frame::decode` base64-decodes one body, so the
//! decoder can decode the frames of a large bundle independently. Text around blocks (`openssl x509 -text`, comments,
//! invalid UTF-8) is ignored. It replaces x509-parser's line-by-line `Pem::read`, which
//! allocated a String per line and was a quarter of the time of a 10,000-certificate bundle;
//! like that reader, it sees every label, so keys and other blocks are reported, not missed.

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"\n-----END ";

/// One framed block: its label and its base64 body, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub label: &'a [u8],
    pub body: &'a [u8],
}

impl Frame<'_> {
    pub fn label(&self) -> String {
        String::from_utf8_lossy(self.label).into_owned()
    }

    /// Base64-decode the body; `scratch` is a reusable buffer.
    pub fn decode(&self, scratch: &mut Vec<u8>) -> Result<Vec<u8>, String> {
        decode_body(self.body, scratch)
    }
}

/// The frames of `bytes`, in order; a malformed frame ends the iteration with its error.
pub fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames {
        bytes,
        pos: 0,
        failed: false,
    }
}

pub struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Frames<'a> {
    fn fail(&mut self, msg: &str) -> Option<Result<Frame<'a>, String>> {
        self.failed = true;
        Some(Err(msg.to_string()))
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let bytes = self.bytes;
        // The next BEGIN marker that starts a line.
        let start = loop {
            let rest = bytes.get(self.pos..)?;
            let at = self.pos + memchr::memmem::find(rest, BEGIN)?;
            if at == 0 || bytes[at - 1] == b'\n' {
                break at;
            }
            self.pos = at + BEGIN.len();
        };
        let line_end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let header = &bytes[start + BEGIN.len()..line_end];
        let Some(close) = memchr::memmem::find(header, b"-----") else {
            return self.fail("invalid BEGIN line");
        };
        let label = &header[..close];
        if line_end >= bytes.len() {
            return self.fail("no END line");
        }
        let Some(end_rel) = memchr::memmem::find(&bytes[line_end..], END) else {
            return self.fail("no END line");
        };
        let body_end = line_end + end_rel;
        let body = &bytes[line_end + 1..body_end.max(line_end + 1)];
        // Continue after the END line.
        let end_line = body_end + 1;
        self.pos =
            memchr::memchr(b'\n', &bytes[end_line..]).map_or(bytes.len(), |i| end_line + i + 1);
        Some(Ok(Frame { label, body }))
    }
}

const BAD_BASE64: &str = "invalid base64 (or RFC 1421 headers) in the block";

/// Decode a base64 body whatever its line width and line ends. The usual shape (whitespace
/// only at line ends) is copied a line at a time; whitespace inside a line takes the slow path.
fn decode_body(body: &[u8], scratch: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    scratch.clear();
    let mut from = 0;
    for nl in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        scratch.extend_from_slice(body[from..nl].trim_ascii());
        from = nl + 1;
    }
    if let Ok(out) = data_encoding::BASE64.decode(scratch) {
        return Ok(out);
    }
    scratch.clear();
    scratch.extend(body.iter().copied().filter(|b| !b.is_ascii_whitespace()));
    data_encoding::BASE64
        .decode(scratch)
        .map_err(|_| BAD_BASE64.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Block {
        label: String,
        contents: Vec<u8>,
    }

    /// The blocks of `bytes`, framed and decoded, as the decoder sees them.
    fn blocks(bytes: &[u8]) -> impl Iterator<Item = Result<Block, String>> + '_ {
        let mut scratch = Vec::new();
        frames(bytes).map(move |frame| {
            let frame = frame?;
            Ok(Block {
                label: frame.label(),
                contents: frame.decode(&mut scratch)?,
            })
        })
    }

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

    #[test]
    fn any_line_width_and_whitespace_inside_lines_decode_alike() {
        let want: Vec<u8> = (0u8..=200).collect();
        let b64 = data_encoding::BASE64.encode(&want);
        let wrap = |width: usize, sep: &str, join: &str| -> String {
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "-----BEGIN CERTIFICATE-----{sep}{}{sep}-----END CERTIFICATE-----{sep}",
                lines.join(join)
            )
        };
        let texts = [
            wrap(64, "\n", "\n"),
            wrap(76, "\r\n", "\r\n"),
            wrap(7, "\n", "\n"),
            wrap(1000, "\n", "\n"),
            // Blank and indented lines, and spaces inside lines (the slow path).
            wrap(64, "\n", "\n  \r\n\t")
                .replace("\tM", "\tM \t")
                .replace("\tk", "\tk  "),
        ];
        assert!(texts[4].contains("\tM \t") && texts[4].contains("\tk  "));
        for text in texts {
            let v: Vec<Block> = blocks(text.as_bytes()).map(|b| b.unwrap()).collect();
            assert_eq!(v.len(), 1, "{text}");
            assert_eq!(v[0].label, "CERTIFICATE");
            assert_eq!(v[0].contents, want, "{text}");
        }
    }
}
