//! Flow logs as CloudWatch Logs hands them out, read as the plain text
//! the rest of the reader knows (docs/delivery-forms.md):
//!
//! * `export`: `aws logs create-export-task` objects (`TIME MESSAGE` a
//!   line) and `aws logs tail` output: the time column is cut off each
//!   line, so line numbers stay those of the file;
//! * `json`: what `aws logs filter-log-events` / `get-log-events` print
//!   (several documents appended), subscription deliveries through
//!   Firehose to S3 (`DATA_MESSAGE` envelopes; `CONTROL_MESSAGE`s
//!   counted, not read) and flow logs sent straight to Firehose
//!   (`{"message":...}`): each log event becomes one line, so a "line"
//!   of such an input is its n-th log event;
//! * `flow_logs`: `aws ec2 describe-flow-logs` JSON (`--flow-logs`), the
//!   format of each log group.
//!
//! Each form is told by its content (`sniff::text_form`), never by its
//! name, and becomes a `Read` of text lines in front of the chunk reader:
//! plain text does not pass through here. Where the format changes (a
//! log group with its own format), a header line is put in front of its
//! records, as the reader expects; the `Report` lists those lines so that
//! the engine counts them out again and numbers lines as the input does.

mod export;
mod flow_logs;
mod json;

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

pub use self::export::ExportLines;
pub use self::flow_logs::FlowLogs;
pub use self::json::JsonEvents;
use super::format::Format;
use super::sniff::TimeShape;

/// The CloudWatch Logs form an input was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `create-export-task` (or `aws logs tail`) text: a time before each record.
    Export(TimeShape),
    /// JSON documents: `filter-log-events`/`get-log-events` pages,
    /// subscription envelopes, direct Firehose records.
    Json,
}

impl Form {
    /// What the form is called in messages.
    pub fn name(self) -> &'static str {
        match self {
            Form::Export(TimeShape::Export) => "a CloudWatch Logs export",
            Form::Export(_) => "`aws logs tail` output",
            Form::Json => "CloudWatch Logs JSON",
        }
    }

    /// What a "line" of the form is.
    pub fn unit(self) -> &'static str {
        match self {
            Form::Export(_) => "line",
            Form::Json => "log event",
        }
    }
}

/// What a form's reader tells the engine at the end of its input.
#[derive(Debug, Default)]
pub struct Report {
    pub form: Option<Form>,
    /// `CONTROL_MESSAGE` envelopes read (and not taken as records).
    pub control_messages: u64,
    /// Numbers (1-based, in the text handed on) of the header lines put
    /// in front of a log group's records: not lines of the input.
    pub inserted_headers: Vec<u64>,
}

impl Report {
    /// The input's own number of the line handed on as `line`.
    pub fn input_line(&self, line: u64) -> u64 {
        line - self.inserted_headers.partition_point(|&h| h < line) as u64
    }
}

/// Shared between a form's reader (which fills it) and the engine.
pub type SharedReport = Arc<Mutex<Report>>;

/// An error of the form itself (JSON that is not a CloudWatch Logs
/// document, JSON cut short): carried inside an `io::Error` like
/// `sniff::Refusal`, and reported as it is, not as damaged gzip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormError(pub String);

impl FormError {
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// The form error an `io::Error` carries, if it is one.
pub fn form_error_of(e: &io::Error) -> Option<FormError> {
    e.get_ref()?.downcast_ref::<FormError>().cloned()
}

/// What a form's reader needs to know of the formats: the one in force
/// at the start of every input (`--format`, else v2) and `--flow-logs`.
#[derive(Debug, Clone)]
pub struct Formats {
    pub default: Format,
    pub flow_logs: Arc<FlowLogs>,
}

impl Default for Formats {
    /// The default v2 format, no `--flow-logs`.
    fn default() -> Formats {
        Formats {
            default: Format::default_v2(),
            flow_logs: Arc::default(),
        }
    }
}

/// Emits the header line of `to` into `out` when it differs from `*current`,
/// noting its line number in `report` (the reader switches formats on header
/// lines). `line` is the number of lines handed on so far.
fn switch_format(
    current: &mut Format,
    to: &Format,
    out: &mut Vec<u8>,
    line: &mut u64,
    report: &SharedReport,
) {
    if current == to {
        return;
    }
    *current = to.clone();
    out.extend_from_slice(to.header().as_bytes());
    out.push(b'\n');
    *line += 1;
    if let Ok(mut r) = report.lock() {
        r.inserted_headers.push(*line);
    }
}

/// Wraps the decoded stream of an input in the reader of its form, and
/// says the format its lines start in: that of the log group the first
/// envelope names in `head` (the input's first bytes), else the input's own
/// (`--flow-logs` by its name), else the default. The chunk reader starts
/// in it, so that an input of one log group gets no header line put in
/// (`RecordCtx::line_no`, `query`'s `line`, stays the input's own number).
pub fn reader(
    form: Form,
    src: Box<dyn Read + Send>,
    head: &[u8],
    input_name: &str,
    formats: &Formats,
    report: SharedReport,
) -> (Box<dyn Read + Send>, Format) {
    if let Ok(mut r) = report.lock() {
        r.form = Some(form);
    }
    let input = formats
        .flow_logs
        .for_input(input_name)
        .unwrap_or(&formats.default)
        .clone();
    match form {
        Form::Export(shape) => (Box::new(ExportLines::new(src, shape)), input),
        Form::Json => {
            let start = first_log_group(head)
                .and_then(|g| formats.flow_logs.for_group(g))
                .unwrap_or(&input)
                .clone();
            let reader = JsonEvents::new(src, input, start.clone(), formats, report);
            (Box::new(reader), start)
        }
    }
}

/// The log group a subscription envelope starting in `head` names, if
/// `head` holds it (CloudWatch Logs writes it third, after `messageType`
/// and `owner`). Only a guess at the start: `JsonEvents` reads each
/// envelope's own.
fn first_log_group(head: &[u8]) -> Option<&str> {
    let key = b"\"logGroup\":";
    let at = memchr::memmem::find(head, key)? + key.len();
    let rest = head[at..].trim_ascii_start().strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest[end] != b'"' {
        return None;
    }
    std::str::from_utf8(&rest[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::reader::{ChunkReader, FormatCtx};

    /// Every line the chunk reader cuts from `r`, parsed: what the fuzz
    /// target `reader` does with these readers.
    fn drain<R: Read>(r: R) {
        let mut cr = ChunkReader::new(r, FormatCtx::new(Format::default_v2()));
        while let Ok(Some(c)) = cr.next_chunk() {
            c.for_each_line(|_, line| {
                let _ = c.format.parser.parse(line);
            });
        }
    }

    #[test]
    fn the_first_envelopes_log_group() {
        let head =
            br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup": "/aws/vpc/a","logStream""#;
        assert_eq!(first_log_group(head), Some("/aws/vpc/a"));
        assert_eq!(first_log_group(br#"{"logGroup":"/aws/vpc/a"#), None);
        assert_eq!(first_log_group(br#"{"logGroup":"a\"b","#), None);
        assert_eq!(first_log_group(br#"{"events":[]}"#), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let formats = Formats {
            default: Format::default_v2(),
            flow_logs: Default::default(),
        };
        let seeds: [&[u8]; 3] = [
            br#"{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","message":"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"}]}{"events":[{"message":"x\ny"}]}"#,
            b"2019-11-20T00:00:03.000Z 2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK\n2019-11-20T00:00:03.000Z",
            br#"{"FlowLogs":[{"LogGroupName":"g","LogFormat":"${version} ${srcaddr}"}]}"#,
        ];
        // xorshift: the same bytes on every run.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for seed in seeds {
            for _ in 0..300 {
                let mut data = seed.to_vec();
                for _ in 0..1 + next() % 4 {
                    let at = (next() % data.len() as u64) as usize;
                    match next() % 3 {
                        0 => data[at] = next() as u8,
                        1 => data.truncate(at),
                        _ => data.insert(at, b"{}[]\":,\n "[(next() % 9) as usize]),
                    }
                    if data.is_empty() {
                        break;
                    }
                }
                drain(JsonEvents::new(
                    &data[..],
                    formats.default.clone(),
                    formats.default.clone(),
                    &formats,
                    Default::default(),
                ));
                drain(ExportLines::new(&data[..], TimeShape::Export));
                let _ = FlowLogs::from_json(&data);
            }
        }
    }
}
