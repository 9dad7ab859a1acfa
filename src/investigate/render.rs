//! Rendering matched records for `query`: the original line, JSON Lines
//! keyed by the field names of the record's own format, or CSV with a
//! fixed column set. JSON keys and CSV columns spell the AWS field names
//! with underscores (`interface_id`, `log_status`), as every other JSON and
//! CSV output of flowscope does and as the Parquet/Athena schema of flow
//! logs does (`docs/json.md`). Works from the raw line bytes, so every field of every
//! format (including ones flowscope does not interpret) is kept.

use std::io::Write;
use std::sync::Arc;

use crate::engine::RecordCtx;
use crate::flowlog::format::{Field, Format};

use super::filter::tokens;

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// The original line, optionally prefixed by `file:line:`.
    Text { with_filename: bool },
    /// One JSON object per line.
    Json,
    /// CSV rows under `CSV_HEADER`.
    Csv,
}

/// The fixed CSV columns after `file,line`.
pub const CSV_FIELDS: [Field; 14] = [
    Field::InterfaceId,
    Field::SrcAddr,
    Field::DstAddr,
    Field::SrcPort,
    Field::DstPort,
    Field::Protocol,
    Field::Packets,
    Field::Bytes,
    Field::Start,
    Field::End,
    Field::Action,
    Field::LogStatus,
    Field::TcpFlags,
    Field::FlowDirection,
];

/// A field's name in JSON keys and CSV columns: `interface-id` →
/// `interface_id`.
pub fn output_name(f: &Field) -> String {
    f.parquet_name().into_owned()
}

/// The CSV header line.
pub fn csv_header() -> String {
    let mut s = String::from("file,line");
    for f in &CSV_FIELDS {
        s.push(',');
        s.push_str(&output_name(f));
    }
    s.push('\n');
    s
}

/// Fields printed as JSON numbers (when the value is a number).
fn is_numeric(f: &Field) -> bool {
    matches!(
        f,
        Field::Version
            | Field::SrcPort
            | Field::DstPort
            | Field::Protocol
            | Field::Packets
            | Field::Bytes
            | Field::Start
            | Field::End
            | Field::TcpFlags
            | Field::TrafficPath
    )
}

#[derive(Debug)]
struct ColInfo {
    /// `"name":`, escaped.
    json_key: Vec<u8>,
    numeric: bool,
    /// Position among `CSV_FIELDS`.
    csv_slot: Option<usize>,
}

/// Per-worker renderer; caches per-format column information.
pub struct Renderer {
    kind: RecordFormat,
    formats: Vec<(Format, Arc<[ColInfo]>)>,
    last_file: Option<Arc<str>>,
    file_escaped: Vec<u8>,
}

impl Renderer {
    pub fn new(kind: RecordFormat) -> Renderer {
        Renderer {
            kind,
            formats: Vec::new(),
            last_file: None,
            file_escaped: Vec::new(),
        }
    }

    fn cols(&mut self, format: &Format) -> Arc<[ColInfo]> {
        if let Some((_, c)) = self.formats.iter().find(|(f, _)| f == format) {
            return c.clone();
        }
        let cols: Arc<[ColInfo]> = format
            .columns()
            .iter()
            .map(|f| {
                let mut key = Vec::new();
                json_str(&mut key, output_name(f).as_bytes());
                key.push(b':');
                ColInfo {
                    json_key: key,
                    numeric: is_numeric(f),
                    csv_slot: CSV_FIELDS.iter().position(|c| c == f),
                }
            })
            .collect();
        self.formats.push((format.clone(), cols.clone()));
        cols
    }

    fn file(&mut self, file: &Arc<str>) -> &[u8] {
        if !self
            .last_file
            .as_ref()
            .is_some_and(|f| Arc::ptr_eq(f, file))
        {
            self.file_escaped.clear();
            match self.kind {
                RecordFormat::Json => json_str(&mut self.file_escaped, file.as_bytes()),
                RecordFormat::Csv => csv_field(&mut self.file_escaped, file.as_bytes()),
                RecordFormat::Text { .. } => self.file_escaped.extend_from_slice(file.as_bytes()),
            }
            self.last_file = Some(file.clone());
        }
        &self.file_escaped
    }

    /// Appends one record to `out`, newline-terminated.
    pub fn render(&mut self, out: &mut Vec<u8>, ctx: &RecordCtx<'_>) {
        let line = match ctx.line {
            [rest @ .., b'\r'] => rest,
            l => l,
        };
        match self.kind {
            RecordFormat::Text { with_filename } => {
                if with_filename {
                    out.extend_from_slice(self.file(ctx.file));
                    let _ = write!(out, ":{}:", ctx.line_no);
                }
                out.extend_from_slice(line);
            }
            RecordFormat::Json => {
                let cols = self.cols(ctx.format);
                out.push(b'{');
                for (c, tok) in cols.iter().zip(tokens(line)) {
                    out.extend_from_slice(&c.json_key);
                    if tok == b"-" {
                        out.extend_from_slice(b"null");
                    } else if c.numeric {
                        match crate::flowlog::parse::parse_u64(tok) {
                            Some(n) => {
                                let _ = write!(out, "{n}");
                            }
                            None => json_str(out, tok),
                        }
                    } else {
                        json_str(out, tok);
                    }
                    out.push(b',');
                }
                out.extend_from_slice(b"\"file\":");
                out.extend_from_slice(self.file(ctx.file));
                let _ = write!(out, ",\"line\":{}}}", ctx.line_no);
            }
            RecordFormat::Csv => {
                let cols = self.cols(ctx.format);
                let mut slots: [&[u8]; 14] = [b""; 14];
                for (c, tok) in cols.iter().zip(tokens(line)) {
                    if let Some(s) = c.csv_slot {
                        if tok != b"-" {
                            slots[s] = tok;
                        }
                    }
                }
                out.extend_from_slice(self.file(ctx.file));
                let _ = write!(out, ",{}", ctx.line_no);
                for s in slots {
                    out.push(b',');
                    csv_field(out, s);
                }
            }
        }
        out.push(b'\n');
    }
}

/// Appends a JSON string literal.
pub fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    if s.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(s);
    } else {
        for &b in s {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\r' => out.extend_from_slice(b"\\r"),
                0..=0x1f => {
                    let _ = write!(out, "\\u{:04x}", b);
                }
                _ => out.push(b),
            }
        }
    }
    out.push(b'"');
}

/// Appends a CSV field, quoted when needed.
pub fn csv_field(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in s {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(kind: RecordFormat, fmt: &str, line: &str) -> String {
        let format = Format::parse(fmt).unwrap();
        let file: Arc<str> = "dir/a,b.log".into();
        let ctx = RecordCtx {
            file: &file,
            line_no: 7,
            line: line.as_bytes(),
            format: &format,
        };
        let mut out = Vec::new();
        Renderer::new(kind).render(&mut out, &ctx);
        String::from_utf8(out).unwrap()
    }

    const V2: &str = crate::flowlog::format::DEFAULT_V2;
    const L: &str =
        "2 123456789010 eni-0a 10.0.1.10 198.51.100.77 40000 443 6 10 5000 100 160 ACCEPT OK\r";

    #[test]
    fn text_keeps_the_line() {
        assert_eq!(
            render(
                RecordFormat::Text {
                    with_filename: false
                },
                V2,
                L
            ),
            L.trim_end().to_string() + "\n"
        );
        assert!(render(
            RecordFormat::Text {
                with_filename: true
            },
            V2,
            L
        )
        .starts_with("dir/a,b.log:7:2 123456789010 eni-0a"));
    }

    #[test]
    fn json_uses_aws_names_numbers_and_nulls() {
        let s = render(
            RecordFormat::Json,
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags next-hop",
            "3 012345678901 eni-0a 10.0.1.10 198.51.100.77 - 443 6 10 5000 100 160 ACCEPT OK 2 a\"b",
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["version"], 3);
        assert_eq!(v["account_id"], "012345678901");
        assert_eq!(v["srcport"], serde_json::Value::Null);
        assert_eq!(v["dstport"], 443);
        assert_eq!(v["tcp_flags"], 2);
        assert_eq!(v["next_hop"], "a\"b");
        assert_eq!(v["file"], "dir/a,b.log");
        assert_eq!(v["line"], 7);
    }

    #[test]
    fn csv_fixed_columns() {
        assert_eq!(
            csv_header(),
            "file,line,interface_id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log_status,tcp_flags,flow_direction\n"
        );
        assert_eq!(
            render(RecordFormat::Csv, V2, L),
            "\"dir/a,b.log\",7,eni-0a,10.0.1.10,198.51.100.77,40000,443,6,10,5000,100,160,ACCEPT,OK,,\n"
        );
    }
}
