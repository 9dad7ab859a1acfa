//! Text for people, the same in every layer's messages: numbers with
//! `thousands` separators and counted nouns ("1 file", "2,048 files"),
//! and input shown `printable`. A leaf, so that the engine's accounting,
//! the inputs' problems and `report`'s tables can all use it.

/// `n` with its noun, singular or plural: "1 file", "2,048 files".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Counts with thousands separators: 1,234,567.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` with control characters escaped (`\u{1b}`, `\r`): text from an
/// input (a field's value, a file name) printed in a message must not
/// drive the terminal it is shown on.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return s.into();
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_separators_and_their_noun() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(123456), "123,456");
        assert_eq!(thousands(12), "12");
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2048, "file", "files"), "2,048 files");
        assert_eq!(count(0, "file", "files"), "0 files");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\x1b[31mb\r"), "a\\u{1b}[31mb\\r");
        assert_eq!(printable("plain é"), "plain é");
    }
}
