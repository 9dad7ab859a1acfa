//! The accounting of a run (every line read is a header, a record, a
//! NODATA or SKIPDATA record, or skipped for a reason), and the problems
//! it reports: skipped lines with their context, inputs that failed.

use std::sync::Arc;

use serde::Serialize;

use crate::flowlog::format::{Field, Format, FormatError};
use crate::flowlog::parse::{LineError, SkipReason};
use crate::flowlog::sniff::printable;

/// The accounting of one run. Identity (tested):
/// `lines = headers + records + nodata + skipdata + Σ skipped`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Accounting {
    pub files: u64,
    pub files_failed: u64,
    pub lines: u64,
    pub headers: u64,
    pub records: u64,
    /// The data records the `records` lines stand for: equal to
    /// `records` for flow logs, more for pre-aggregated lines (a `flows`
    /// column, `crate::sql`). Identity (tested): the rows' flows sum to it.
    pub flows: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Bytes read from files (compressed size for gzip).
    pub bytes_read: u64,
    /// Bytes after decompression.
    pub bytes_decompressed: u64,
    /// CloudWatch Logs `CONTROL_MESSAGE`s read (subscription deliveries
    /// through Firehose): not lines, not records (`flowlog::cloudwatch`).
    pub control_messages: u64,
}

impl Accounting {
    pub fn merge(&mut self, o: &Accounting) {
        self.files += o.files;
        self.files_failed += o.files_failed;
        self.lines += o.lines;
        self.headers += o.headers;
        self.records += o.records;
        self.flows += o.flows;
        self.nodata += o.nodata;
        self.skipdata += o.skipdata;
        for (a, b) in self.skipped.iter_mut().zip(o.skipped.iter()) {
            *a += b;
        }
        self.bytes_read += o.bytes_read;
        self.bytes_decompressed += o.bytes_decompressed;
        self.control_messages += o.control_messages;
    }

    /// One line for people: what was read and how it was accounted for.
    pub fn summary_line(&self) -> String {
        use crate::text::count;
        let mut s = format!(
            "{} in {} ({} unreadable): {}, {}, {} NODATA, {} SKIPDATA, {} skipped",
            count(self.lines, "line", "lines"),
            count(self.files, "file", "files"),
            self.files_failed,
            count(self.headers, "header", "headers"),
            count(self.records, "record", "records"),
            self.nodata,
            self.skipdata,
            self.skipped_total()
        );
        if let Some(more) = self.flows_note() {
            s.push_str(&format!("; {more}"));
        }
        let reasons: Vec<String> = self
            .skipped_by_reason()
            .iter()
            .map(|(r, n)| format!("{r}: {n}"))
            .collect();
        if !reasons.is_empty() {
            s.push_str(&format!(" ({})", reasons.join(", ")));
        }
        if self.control_messages > 0 {
            s.push_str(&format!(
                "; {} ignored",
                count(
                    self.control_messages,
                    "CloudWatch Logs control message",
                    "CloudWatch Logs control messages"
                )
            ));
        }
        s
    }

    /// "pre-aggregated: the records stand for N flow-log records", when
    /// lines were pre-aggregated (`flows` differs from `records`).
    pub fn flows_note(&self) -> Option<String> {
        (self.flows != self.records).then(|| {
            format!(
                "pre-aggregated: the records stand for {}",
                crate::text::count(self.flows, "flow-log record", "flow-log records")
            )
        })
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().sum()
    }

    /// True when every line read is accounted for.
    pub fn is_balanced(&self) -> bool {
        self.lines
            == self.headers + self.records + self.nodata + self.skipdata + self.skipped_total()
    }

    /// Skipped lines by reason name, only the non-zero ones, in a fixed order.
    pub fn skipped_by_reason(&self) -> Vec<(&'static str, u64)> {
        SkipReason::ALL
            .iter()
            .filter(|r| self.skipped[r.index()] > 0)
            .map(|r| (r.as_str(), self.skipped[r.index()]))
            .collect()
    }

    /// The JSON form (`input` in every command's JSON output).
    pub fn to_json(&self) -> AccountingJson {
        AccountingJson {
            files: self.files,
            files_failed: self.files_failed,
            lines: self.lines,
            headers: self.headers,
            records: self.records,
            flows: self.flows,
            nodata: self.nodata,
            skipdata: self.skipdata,
            skipped: self
                .skipped_by_reason()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            bytes_read: self.bytes_read,
            bytes_decompressed: self.bytes_decompressed,
            control_messages: self.control_messages,
        }
    }
}

/// JSON shape of `Accounting` (a documented contract).
#[derive(Debug, Serialize, serde::Deserialize, Clone, PartialEq, Eq)]
pub struct AccountingJson {
    pub files: u64,
    pub files_failed: u64,
    pub lines: u64,
    pub headers: u64,
    pub records: u64,
    /// The data records the `records` lines stand for (more than
    /// `records` only for pre-aggregated lines: `flowscope sql`).
    pub flows: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub skipped: std::collections::BTreeMap<String, u64>,
    pub bytes_read: u64,
    pub bytes_decompressed: u64,
    /// CloudWatch Logs control messages ignored; left out when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub control_messages: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A line that was skipped, with enough context to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BadLine {
    pub file: Arc<str>,
    pub line: u64,
    pub reason: SkipReason,
    pub detail: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: skipped ({}): {}",
            printable(&self.file),
            self.line,
            self.reason.as_str(),
            printable(&self.detail)
        )
    }
}

/// An input that could not be read, or not to the end.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileError {
    pub file: Arc<str>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", printable(&self.file), printable(&self.message))
    }
}

/// Says why an input failed when it had lines and none of them was a
/// record (data, NODATA or SKIPDATA), only skipped ones: a JSON file, a
/// CloudWatch export, a `--format` that does not fit. Without this the
/// run ends with exit 0 and empty tables. Empty lines alone do not count.
pub(crate) fn nothing_parsed(
    acc: &Accounting,
    before: &Accounting,
    first_bad: Option<(u64, Vec<u8>)>,
) -> Option<String> {
    let parsed = |a: &Accounting| a.records + a.nodata + a.skipdata;
    let skipped = |a: &Accounting| a.skipped_total() - a.skipped[SkipReason::EmptyLine.index()];
    if parsed(acc) > parsed(before) || skipped(acc) == skipped(before) {
        return None;
    }
    let lines = acc.lines - before.lines;
    let mut reasons: Vec<String> = SkipReason::ALL
        .iter()
        .filter_map(|r| {
            let n = acc.skipped[r.index()] - before.skipped[r.index()];
            (n > 0).then(|| format!("{}: {n}", r.as_str()))
        })
        .collect();
    reasons.truncate(3);
    let mut msg = format!(
        "no line is a flow-log record ({} skipped: {})",
        crate::text::count(lines, "line", "lines"),
        reasons.join(", ")
    );
    match first_bad.as_ref().and_then(|(_, l)| crate::flowlog::sniff::looks_like(l)) {
        Some(what) => msg.push_str(&format!("; {what}")),
        None => msg.push_str(
            "; check that it is a VPC flow log and that its header line or --format names its columns",
        ),
    }
    Some(msg)
}

/// Explains a skipped line: the column at fault and its value.
pub(crate) fn describe(e: &LineError, line: &[u8], format: &Format) -> String {
    let shown = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        if s.len() > 80 {
            format!("{}…", s.chars().take(80).collect::<String>())
        } else {
            s.into_owned()
        }
    };
    match (e.reason, e.column) {
        (SkipReason::BadHeader, _) => match format.problem() {
            Some(FormatError::Duplicate(name)) => format!(
                "the header line above names field '{name}' twice, so which column is which \
                 is unknown: the lines under it are not read"
            ),
            Some(p) => format!("the header line above cannot be used: {p}"),
            None => "bad header".to_string(),
        },
        (SkipReason::FieldCount, _) => {
            format!(
                "{} fields, the format has {} ({})",
                e.found,
                format.len(),
                shorten(&format.header())
            )
        }
        (_, Some(c)) => {
            let tok = line
                .split(|&b| b == b' ')
                .filter(|t| !t.is_empty())
                .nth(c)
                .unwrap_or(b"");
            let field = format
                .columns()
                .get(c)
                .cloned()
                .unwrap_or(Field::Other("?".into()));
            format!("field '{}' = \"{}\"", field, shown(tok))
        }
        (SkipReason::InvalidUtf8, _) => "the line is not valid UTF-8".to_string(),
        (SkipReason::EmptyLine, _) => "empty line".to_string(),
        (r, None) => r.as_str().replace('_', " "),
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 60 {
        format!("{}…", &s[..60])
    } else {
        s.to_string()
    }
}
