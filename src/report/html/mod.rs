//! `-o html`: one self-contained page for people who review the analysis
//! (`recommend`) or the traffic (`summarize`), to open in a browser, mail
//! or print.
//!
//! The page carries everything it needs: its style sheet and a little
//! script (sorting, filtering, opening every section) inline, no fonts,
//! images or other files. A Content-Security-Policy meta tag allows only
//! those two blocks, by their SHA-256 hashes: nothing else on the page
//! can run or load, so text that slipped through escaping still could not
//! act. And nothing does slip through: every value from the logs or the
//! inventory (names, descriptions, tags, file names) goes through [`esc`]
//! in text and in attributes alike, and no event handler is built from
//! data (the script attaches its own). Without the script the page is
//! complete: collapsed sections open with a click, tables are in their
//! natural order.
//!
//! The page is a function of the data: no time of rendering, no random
//! ids (sections are numbered in inventory order), so it can be compared
//! byte for byte.

mod recommend;
mod summarize;

pub use recommend::{write_recommend, RecommendPage};
pub use summarize::{write_summarize, SummarizePage};

use std::fmt::{self, Write as _};
use std::io;
use std::path::PathBuf;

use base64::Engine as _;

use crate::engine::Accounting;
use crate::report::{human_bytes, thousands};

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// What a run read, for the page's input section.
pub struct RunInfo<'a> {
    /// The inputs as given on the command line.
    pub inputs: &'a [PathBuf],
    pub accounting: &'a Accounting,
    /// Records left out by `--since/--until`.
    pub outside: Outside,
    /// The notes, warnings and errors the run wrote on stderr before the page.
    pub diagnostics: &'a [String],
}

/// Records outside `--since/--until` (counted, left out).
#[derive(Debug, Clone, Copy, Default)]
pub struct Outside {
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
}

/// `s` for HTML text or a double-quoted attribute: `& < > " '` as
/// entities, control characters shown as escapes (`\u{1b}`), as on the
/// terminal, and bidirectional overrides too (they could make a rule read
/// backwards).
pub fn esc(s: &str) -> Esc<'_> {
    Esc(s)
}

/// Displays its text escaped (see [`esc`]).
pub struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c if c.is_control()
                    || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
                {
                    write!(f, "{}", c.escape_unicode())?
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The `sha256-…` source expression of an inline block, for the CSP.
fn csp_hash(text: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(d.as_ref())
    )
}

/// The policy: nothing but the page's own style and script blocks.
fn csp() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// A page being built in memory, written out whole by `finish`.
pub(crate) struct Page {
    s: String,
}

/// `write!` into a page's buffer (a `String` cannot fail).
macro_rules! w {
    ($p:expr, $($arg:tt)*) => {{
        let _ = ::std::fmt::Write::write_fmt(&mut $p.s, format_args!($($arg)*));
    }};
}
pub(crate) use w;

impl Page {
    /// The head (title, policy, style) and the opening of the body.
    pub fn new(title: &str) -> Page {
        let mut p = Page {
            s: String::with_capacity(1 << 16),
        };
        w!(
            p,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"flowscope\">\n\
             <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
            csp(),
            esc(title)
        );
        p
    }

    /// Our own markup, as it is.
    pub fn raw(&mut self, s: &str) {
        self.s.push_str(s);
    }

    /// Text from the data, escaped.
    pub fn text(&mut self, s: &str) {
        w!(self, "{}", esc(s));
    }

    /// A count cell: thousands separators, the number for sorting.
    pub fn count_td(&mut self, n: u64) {
        w!(self, "<td class=\"n\" data-v=\"{n}\">{}</td>", thousands(n));
    }

    /// A bytes cell: 1.2 MB, the exact count in its title.
    pub fn bytes_td(&mut self, n: u64) {
        w!(
            self,
            "<td class=\"n\" data-v=\"{n}\" title=\"{} bytes\">{}</td>",
            thousands(n),
            human_bytes(n)
        );
    }

    /// A time cell: RFC 3339 UTC, epoch seconds for sorting.
    pub fn time_td(&mut self, t: Option<u64>) {
        match t {
            Some(t) => w!(self, "<td class=\"t\" data-v=\"{t}\">{}</td>", time(t)),
            None => self.raw("<td class=\"t\" data-v=\"-1\">-</td>"),
        }
    }

    /// A text cell from the data.
    pub fn text_td(&mut self, s: &str) {
        w!(self, "<td>{}</td>", esc(s));
    }

    /// A row of text cells from the data.
    pub fn text_td_row(&mut self, cells: &[&str]) {
        self.raw("<tr>");
        for c in cells {
            self.text_td(c);
        }
        self.raw("</tr>\n");
    }

    /// The head of a table people may sort (`n`: a numeric column) and
    /// filter when the script runs.
    pub fn table_head(&mut self, id: &str, cols: &[(&str, bool)], filter: bool) {
        if filter {
            w!(
                self,
                "<p class=\"jsonly\"><input type=\"search\" data-filter=\"{id}\" \
                 placeholder=\"Filter rows\" aria-label=\"Filter rows\"></p>\n"
            );
        }
        w!(
            self,
            "<div class=\"scroll\"><table class=\"sortable\" id=\"{id}\">\n<thead><tr>"
        );
        for (name, numeric) in cols {
            let t = if *numeric {
                " data-type=\"n\" class=\"n\""
            } else {
                ""
            };
            w!(self, "<th{t}>{name}</th>");
        }
        self.raw("</tr></thead>\n<tbody>\n");
    }

    pub fn table_end(&mut self) {
        self.raw("</tbody></table></div>\n");
    }

    /// The script, the closing tags, and the page written to `w`.
    pub fn finish(mut self, w: &mut dyn io::Write) -> io::Result<()> {
        w!(self, "<script>{JS}</script>\n</body>\n</html>\n");
        w.write_all(self.s.as_bytes())
    }

    /// The input section: files, lines and what they were, the window's
    /// leftovers, and what the run said on stderr.
    pub fn input_section(&mut self, run: &RunInfo<'_>) {
        let a = run.accounting;
        self.raw("<section id=\"input\">\n<h2>Input</h2>\n<p>Read: ");
        for (i, p) in run.inputs.iter().enumerate() {
            if i > 0 {
                self.raw(", ");
            }
            w!(self, "<code>{}</code>", esc(&p.to_string_lossy()));
        }
        if run.inputs.is_empty() {
            self.raw("standard input");
        }
        self.raw("</p>\n<table class=\"kv\"><tbody>\n");
        let row = |p: &mut Page, k: &str, n: u64, note: String| {
            w!(
                p,
                "<tr><th>{k}</th><td class=\"n\" data-v=\"{n}\">{}</td><td>{}</td></tr>\n",
                thousands(n),
                esc(&note)
            );
        };
        let outside = |n: u64| {
            if n > 0 {
                format!("{} outside --since/--until, left out", thousands(n))
            } else {
                String::new()
            }
        };
        row(self, "Files", a.files, format!("{} failed", a.files_failed));
        row(self, "Lines", a.lines, String::new());
        row(self, "Header lines", a.headers, String::new());
        row(self, "Records", a.records, outside(run.outside.records));
        row(self, "NODATA", a.nodata, outside(run.outside.nodata));
        row(self, "SKIPDATA", a.skipdata, outside(run.outside.skipdata));
        let reasons: Vec<String> = a
            .skipped_by_reason()
            .iter()
            .map(|(k, v)| format!("{k}: {}", thousands(*v)))
            .collect();
        row(self, "Skipped lines", a.skipped_total(), reasons.join(", "));
        if a.control_messages > 0 {
            row(
                self,
                "Control messages",
                a.control_messages,
                "CloudWatch Logs, ignored".into(),
            );
        }
        self.raw("<tr><th>Bytes read</th>");
        self.bytes_td(a.bytes_read);
        self.raw("<td></td></tr>\n<tr><th>Decompressed</th>");
        self.bytes_td(a.bytes_decompressed);
        self.raw("<td></td></tr>\n</tbody></table>\n");
        self.diagnostics(run.diagnostics);
        self.raw("</section>\n");
    }

    /// What the run wrote on stderr, one item per line.
    pub fn diagnostics(&mut self, lines: &[String]) {
        if lines.is_empty() {
            self.raw("<p>The run printed no warnings.</p>\n");
            return;
        }
        w!(
            self,
            "<h3>Messages of the run ({})</h3>\n<ul class=\"diag\">\n",
            thousands(lines.len() as u64)
        );
        for l in lines {
            let class = if l.contains(": error: ") {
                "error"
            } else if l.contains(": warning: ") {
                "warning"
            } else {
                "note"
            };
            w!(self, "<li class=\"{class}\">{}</li>\n", esc(l));
        }
        self.raw("</ul>\n");
    }
}

/// A time for people (RFC 3339, UTC).
fn time(t: u64) -> String {
    crate::report::fmt_time(t)
}

/// The data's period without its length: `start to end`.
fn span(window: Option<(u64, u64)>) -> String {
    match window {
        Some((s, e)) => format!("{} to {}", time(s), time(e)),
        None => "no records".into(),
    }
}

/// The data's period: `start to end (6.0 h)`, or `no records`.
fn period(window: Option<(u64, u64)>) -> String {
    match window {
        Some((s, e)) => format!(
            "{} to {} ({:.1} h)",
            time(s),
            time(e),
            e.saturating_sub(s) as f64 / 3600.0
        ),
        None => "no records".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        let hostile = "<img src=x onerror=\"alert(1)\">'&\u{1b}[31m\u{202e}";
        let out = esc(hostile).to_string();
        assert_eq!(
            out,
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;\\u{1b}[31m\\u{202e}"
        );
        for c in ['<', '>', '"', '\'', '\u{1b}', '\u{202e}'] {
            assert!(!out.contains(c), "{c:?} in {out}");
        }
    }

    /// The policy names the hashes of the blocks the page carries, so an
    /// edited style sheet or script still runs (and nothing else does).
    #[test]
    fn the_policy_allows_exactly_the_pages_blocks() {
        let mut out = Vec::new();
        Page::new("t").finish(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        let policy = csp();
        assert!(page.contains(&policy));
        assert!(policy.contains(&csp_hash(CSS)) && policy.contains(&csp_hash(JS)));
        assert!(!policy.contains("unsafe"), "{policy}");
        // Known answer: SHA-256 of "abc".
        assert_eq!(
            csp_hash("abc"),
            "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='"
        );
        // The blocks must not close their own elements early.
        assert!(!CSS.contains("</") && !JS.contains("</"));
    }
}
