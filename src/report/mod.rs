//! Output plumbing shared by every command: the output target (stdout or
//! a file, see `output`), colour, aligned tables, and value formatting.
//! Reporters only format; they never compute.

pub mod html;
mod output;
pub mod proposals;

use std::io::{self, Write};

pub use output::{broken_pipe, install_cleanup_handlers, parse_output_path, Output};
// Number words, a leaf so that the layers below can use them too.
pub use crate::text::{count, thousands};

/// Output formats a command can emit (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document (a documented contract).
    Json,
    /// Comma-separated rows with a header.
    Csv,
}

/// When to colour the output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb.
    #[default]
    Auto,
    /// Always (even into a pipe or a file).
    Always,
    Never,
}

/// How tables are drawn on one output: in colour or not, and within a
/// width or not. Made from the run's `--color` and `--wide` and the
/// output itself (`Style::of`); plain by default (no colour, full width).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// The width tables must fit: the terminal's, when the output is
    /// stdout on a terminal and `--wide` is not given; None otherwise (a
    /// pipe or a file gets every character).
    pub fit: Option<usize>,
}

impl Style {
    /// Colour when `--color always`, or `auto` on a terminal without
    /// NO_COLOR (any value, as no-color.org says) and with a TERM other
    /// than `dumb`; the terminal's width unless `wide`.
    pub fn of(out: &Output, color: ColorChoice, wide: bool) -> Style {
        let terminal = out.is_terminal();
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        let fit = (terminal && !wide)
            .then(terminal_columns)
            .filter(|&n| n > 0);
        Style { color, fit }
    }
}

/// A simple aligned table: right-aligns columns whose header is flagged.
pub struct Table {
    headers: Vec<(&'static str, bool)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// `headers`: (title, right-aligned).
    pub fn new(headers: &[(&'static str, bool)]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row. Cells come from the input (interface ids, addresses as
    /// written): control characters are escaped so that a crafted log line
    /// cannot drive the terminal the table is shown on.
    pub fn push(&mut self, mut row: Vec<String>) {
        for c in row.iter_mut() {
            if let std::borrow::Cow::Owned(e) = crate::flowlog::sniff::printable(c) {
                *c = e;
            }
        }
        self.rows.push(row);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table in `style`: on a terminal narrowed to its width
    /// unless `--wide` (see `Style`).
    pub fn write(&self, w: &mut dyn Write, style: &Style) -> io::Result<()> {
        self.write_fit(w, style.color, style.fit)
    }

    /// Writes the table within `width` columns when given: the widest
    /// text columns are narrowed first (never below their title or 8
    /// characters) and their long cells end in `…`; numbers are never cut.
    pub fn write_fit(
        &self,
        w: &mut dyn Write,
        color: bool,
        width: Option<usize>,
    ) -> io::Result<()> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.0.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        if let Some(max) = width {
            let floor: Vec<usize> = self
                .headers
                .iter()
                .map(|h| {
                    if h.1 {
                        usize::MAX
                    } else {
                        h.0.chars().count().max(8)
                    }
                })
                .collect();
            let mut total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            while total > max {
                // The widest column that may still shrink.
                let Some(i) = (0..widths.len())
                    .filter(|&i| !self.headers[i].1 && widths[i] > floor[i])
                    .max_by_key(|&i| (widths[i], std::cmp::Reverse(i)))
                else {
                    break;
                };
                widths[i] -= 1;
                total -= 1;
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let cut;
                let c = if c.chars().count() > widths[i] {
                    cut = ellipsize(c, widths[i]);
                    cut.as_str()
                } else {
                    c
                };
                let pad = widths[i].saturating_sub(c.chars().count());
                if i > 0 {
                    s.push_str("  ");
                }
                if self.headers[i].1 {
                    s.push_str(&" ".repeat(pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    if i + 1 < cells.len() {
                        s.push_str(&" ".repeat(pad));
                    }
                }
            }
            s
        };
        let head = line(self.headers.iter().map(|h| h.0).collect());
        if color {
            writeln!(w, "\x1b[1m{head}\x1b[0m")?;
        } else {
            writeln!(w, "{head}")?;
        }
        for r in &self.rows {
            writeln!(w, "{}", line(r.iter().map(|s| s.as_str()).collect()))?;
        }
        Ok(())
    }
}

/// `s` if it has at most `n` characters, else its first `n - 1` and `…`.
pub fn trim(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        ellipsize(s, n)
    }
}

/// The first `width - 1` characters of `s` and `…`.
fn ellipsize(s: &str, width: usize) -> String {
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Columns of the terminal on stdout: $COLUMNS, else TIOCGWINSZ; 0 if unknown.
fn terminal_columns() -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
    {
        return n;
    }
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ fills a winsize; a zeroed one is valid input.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0 {
            return ws.ws_col as usize;
        }
    }
    0
}

pub use crate::time::fmt_time;

/// Optional time, `-` when absent.
pub fn fmt_opt_time(t: Option<u64>) -> String {
    t.map(fmt_time).unwrap_or_else(|| "-".into())
}

/// Bytes for people: 1.2 GB, 340 KB, 12 B (decimal units).
pub fn human_bytes(b: u64) -> String {
    const U: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", U[i])
    } else {
        format!("{v:.0} {}", U[i])
    }
}

/// Protocol for display: name where common, else the number.
pub fn proto_label(p: u8) -> String {
    crate::flowlog::record::protocol_name(p)
        .map(str::to_string)
        .unwrap_or_else(|| p.to_string())
}

/// Writes `value` as pretty JSON and a newline. serde_json makes a write
/// call for every token (1.2M for a busy summary, 40% of the run's
/// instructions through `Output`'s checks); a local buffer turns them
/// into a few large writes.
pub fn write_json_pretty<T: serde::Serialize + ?Sized>(
    w: &mut dyn std::io::Write,
    value: &T,
) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut buf = std::io::BufWriter::with_capacity(1 << 16, w);
    serde_json::to_writer_pretty(&mut buf, value)?;
    buf.write_all(b"\n")?;
    buf.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file is never a terminal: colour only when asked `always`, and
    /// the full width whatever `--wide` says.
    #[test]
    fn the_style_of_a_file_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::open(Some(&dir.path().join("t.txt"))).unwrap();
        for wide in [false, true] {
            let s = |c| Style::of(&out, c, wide);
            assert_eq!(
                s(ColorChoice::Always),
                Style {
                    color: true,
                    fit: None
                }
            );
            assert_eq!(s(ColorChoice::Auto), Style::default());
            assert_eq!(s(ColorChoice::Never), Style::default());
        }
    }

    #[test]
    fn table_cells_cannot_drive_the_terminal() {
        let mut t = Table::new(&[("INTERFACE", false)]);
        t.push(vec!["eni-abc\u{1b}[31mred\r".into()]);
        let mut out = Vec::new();
        t.write_fit(&mut out, false, None).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
        assert!(out.contains("eni-abc\\u{1b}[31mred\\r"), "{out:?}");
    }

    #[test]
    fn tables_fit_a_width_by_cutting_text_not_numbers() {
        let mut t = Table::new(&[("NAME", false), ("ROLE", false), ("FLOWS", true)]);
        t.push(vec![
            "eni-0123456789abcdef0".into(),
            "ecs-task retail-store-orders,retail-store-common".into(),
            "1,234,567".into(),
        ]);
        let mut wide = Vec::new();
        t.write_fit(&mut wide, false, None).unwrap();
        let wide = String::from_utf8(wide).unwrap();
        assert!(wide.contains("retail-store-common"));
        let mut out = Vec::new();
        t.write_fit(&mut out, false, Some(55)).unwrap();
        let out = String::from_utf8(out).unwrap();
        for l in out.lines() {
            assert!(l.chars().count() <= 55, "{l:?}");
        }
        assert!(out.contains('…') && out.contains("1,234,567"), "{out}");
        assert!(
            out.contains("eni-0123456789abcdef0"),
            "the narrower column is cut last: {out}"
        );
        // Too narrow for the floors: cut to them, never below.
        let mut out = Vec::new();
        t.write_fit(&mut out, false, Some(5)).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.lines()
                .nth(1)
                .unwrap()
                .starts_with("eni-012…  ecs-tas…  1,234,567"),
            "{out}"
        );
    }

    #[test]
    fn number_formatting() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(45_000_000_000), "45 GB");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}
