//! Text from a certificate (or from a tree, a database, a server) is data: before it reaches a
//! terminal, a log line or a file anchorage writes, every character that could move the cursor,
//! start a line, recolour or reorder the text becomes a visible escape. One function for every
//! boundary (text reports, warnings, errors, the environment bundle's comments); JSON keeps the
//! real strings (serde escapes them).

use std::borrow::Cow;
use std::fmt::Write;

/// True for the characters `escape` rewrites: C0 and C1 controls and DEL (`char::is_control`:
/// newline, carriage return, NUL, ESC, …), the bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A..U+202E, U+2066..U+2069), the line and paragraph separators U+2028/U+2029, and the
/// invisible format characters that hide or join text (soft hyphen, zero-width spaces and
/// joiners, word joiner, invisible operators, the byte-order mark, interlinear annotations).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// `s` with every `is_unsafe` character written as a visible escape: `\n`, `\r`, `\t`, `\0`,
/// `\x1b` (other ASCII controls and DEL), `\u{85}`, `\u{202e}` (the rest). Everything else,
/// backslashes included, is kept as is, so ordinary names read the same; the result is one
/// line that cannot start another, and borrows when there is nothing to escape.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_unsafe(c) && c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_become_visible_escapes() {
        assert_eq!(escape("CN=a\nadded x"), "CN=a\\nadded x");
        assert_eq!(escape("\u{1b}[31mred\u{1b}[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(escape("a\0b\rc\td\u{7f}"), "a\\0b\\rc\\td\\x7f");
        assert_eq!(escape("x\u{85}y\u{9b}"), "x\\u{85}y\\u{9b}");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        for c in [
            '\u{202a}', '\u{202d}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{2028}',
        ] {
            assert!(!escape(&format!("a{c}b")).contains(c), "{c:?}");
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in [
            "CN=ISRG Root X1, O=Internet Security Research Group",
            "Société Générale",
            "a\\nb",
            "日本語",
        ] {
            assert!(matches!(escape(s), Cow::Borrowed(b) if b == s), "{s}");
        }
    }

    #[test]
    fn every_escaped_string_is_free_of_unsafe_characters() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&all);
        assert!(!escaped.chars().any(is_unsafe));
        assert!(!escaped.contains('\n'));
    }
}
