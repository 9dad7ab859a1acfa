//! CloudWatch Logs JSON: a stream of documents (serde_json's
//! `StreamDeserializer`: `}{`, `}\n{` and pretty-printed documents alike),
//! each one of
//!
//! * a `filter-log-events` / `get-log-events` page: `{"events": [{"message": ...}, ...], ...}`;
//! * a subscription envelope (through Firehose to S3):
//!   `{"messageType": "DATA_MESSAGE", "logGroup": ..., "logEvents": [...]}`;
//!   a `CONTROL_MESSAGE` is counted (`Report::control_messages`), its
//!   event not read;
//! * one event: a flow log sent straight to Firehose (`{"message": ...}`),
//!   or `jq -c '.events[]'` output.
//!
//! Each log event's message becomes one line. Memory holds one document
//! at a time. JSON that is none of these stops the input with an error
//! naming the document and its byte offset; the events before it count.

use std::io::{self, BufReader, Read};

use serde::Deserialize;
use serde_json::de::IoRead;
use serde_json::StreamDeserializer;

use super::{switch_format, FormError, Formats, SharedReport};
use crate::flowlog::format::Format;

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "messageType")]
    message_type: Option<String>,
    #[serde(rename = "logGroup")]
    log_group: Option<String>,
    #[serde(rename = "logEvents")]
    log_events: Option<Vec<Event>>,
    events: Option<Vec<Event>>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct Event {
    message: Option<String>,
}

/// The log events of CloudWatch Logs JSON documents, one line each.
pub struct JsonEvents<R: Read> {
    docs: StreamDeserializer<'static, IoRead<BufReader<R>>, Doc>,
    /// Documents read so far.
    n: u64,
    out: Vec<u8>,
    pos: usize,
    /// The format the reader has in force now.
    current: Format,
    /// The format of this input's events when no log group says otherwise.
    input_format: Format,
    formats: Formats,
    report: SharedReport,
    lines: u64,
    done: bool,
    pending_error: Option<io::Error>,
}

impl<R: Read> JsonEvents<R> {
    /// `input_format`: the format of this input's events where no log
    /// group says otherwise; `start`: the one the chunk reader starts in.
    pub fn new(
        src: R,
        input_format: Format,
        start: Format,
        formats: &Formats,
        report: SharedReport,
    ) -> Self {
        JsonEvents {
            docs: serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, src))
                .into_iter(),
            n: 0,
            out: Vec::new(),
            pos: 0,
            current: start,
            input_format,
            formats: formats.clone(),
            report,
            lines: 0,
            done: false,
            pending_error: None,
        }
    }

    /// Reads documents until one gives lines, or the end, or an error.
    fn refill(&mut self) {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() && !self.done {
            let start = self.docs.byte_offset();
            match self.docs.next() {
                None => self.done = true,
                Some(Ok(doc)) => {
                    self.n += 1;
                    if let Err(e) = self.document(doc, start) {
                        self.fail(e.into_io());
                    }
                }
                Some(Err(e)) => {
                    let e = match e.classify() {
                        serde_json::error::Category::Io => io::Error::from(e),
                        serde_json::error::Category::Eof => FormError(format!(
                            "the JSON ends inside document {} (which starts at byte {start}): \
                             the file is cut short",
                            self.n + 1
                        ))
                        .into_io(),
                        _ => FormError(format!(
                            "document {} (from byte {start}) is not CloudWatch Logs JSON: {e}",
                            self.n + 1
                        ))
                        .into_io(),
                    };
                    self.fail(e);
                }
            }
        }
    }

    fn fail(&mut self, e: io::Error) {
        self.pending_error = Some(e);
        self.done = true;
    }

    /// The lines of one document.
    fn document(&mut self, doc: Doc, start: usize) -> Result<(), FormError> {
        let n = self.n;
        let (events, key, format) = if let Some(events) = doc.log_events {
            match doc.message_type.as_deref() {
                Some("DATA_MESSAGE") | None => {}
                Some("CONTROL_MESSAGE") => {
                    if let Ok(mut r) = self.report.lock() {
                        r.control_messages += 1;
                    }
                    return Ok(());
                }
                Some(other) => {
                    return Err(FormError(format!(
                        "document {n} (from byte {start}): messageType \"{}\" is neither \
                         DATA_MESSAGE nor CONTROL_MESSAGE",
                        crate::flowlog::sniff::printable(other)
                    )))
                }
            }
            let format = doc
                .log_group
                .as_deref()
                .and_then(|g| self.formats.flow_logs.for_group(g))
                .unwrap_or(&self.input_format)
                .clone();
            (events, "logEvents", format)
        } else if let Some(events) = doc.events {
            (events, "events", self.input_format.clone())
        } else if let Some(message) = doc.message {
            let format = self.input_format.clone();
            self.event(&message, &format);
            return Ok(());
        } else {
            return Err(FormError(format!(
                "document {n} (from byte {start}) has no \"events\", \"logEvents\" or \
                 \"message\": this looks like JSON, but not the output of aws logs \
                 filter-log-events or get-log-events, nor a CloudWatch Logs subscription \
                 delivery"
            )));
        };
        for (i, e) in events.iter().enumerate() {
            let Some(message) = &e.message else {
                return Err(FormError(format!(
                    "document {n} (from byte {start}): {key}[{i}] has no \"message\""
                )));
            };
            self.event(message, &format);
        }
        Ok(())
    }

    /// One log event's message as a line: a line end inside it would make
    /// two lines of one event, so it is read as a space (a flow-log record
    /// has none; a Lambda log line ends in one).
    fn event(&mut self, message: &str, format: &Format) {
        switch_format(
            &mut self.current,
            format,
            &mut self.out,
            &mut self.lines,
            &self.report,
        );
        let m = message.as_bytes();
        let m = m.strip_suffix(b"\n").unwrap_or(m);
        let m = m.strip_suffix(b"\r").unwrap_or(m);
        let at = self.out.len();
        self.out.extend_from_slice(m);
        for b in &mut self.out[at..] {
            if *b == b'\n' || *b == b'\r' {
                *b = b' ';
            }
        }
        self.out.push(b'\n');
        self.lines += 1;
    }
}

impl<R: Read> Read for JsonEvents<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.out.len() {
            self.refill();
        }
        let n = buf.len().min(self.out.len() - self.pos);
        if n == 0 {
            return match self.pending_error.take() {
                Some(e) => Err(e),
                None => Ok(0),
            };
        }
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::cloudwatch::{form_error_of, FlowLogs};
    use std::sync::Arc;

    fn formats(flow_logs: FlowLogs) -> Formats {
        Formats {
            default: Format::default_v2(),
            flow_logs: Arc::new(flow_logs),
        }
    }

    fn read(json: &str, f: &Formats) -> (Vec<u8>, Option<io::Error>, SharedReport) {
        let report = SharedReport::default();
        let v2 = f.default.clone();
        let mut r = JsonEvents::new(json.as_bytes(), v2.clone(), v2, f, report.clone());
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).err();
        (out, err, report)
    }

    #[test]
    fn pages_envelopes_and_single_events() {
        let json = r#"{"events":[{"message":"a"},{"message":"b\n"}],"nextToken":"x"}
{"events":[]}{"messageType":"CONTROL_MESSAGE","logEvents":[{"message":"CWL CONTROL MESSAGE"}]}
{"messageType":"DATA_MESSAGE","logGroup":"g","logEvents":[{"id":"1","message":"c\nd"}]}
{"message":"e"}"#;
        let (out, err, report) = read(json, &formats(FlowLogs::default()));
        assert!(err.is_none(), "{err:?}");
        assert_eq!(out, b"a\nb\nc d\ne\n");
        assert_eq!(report.lock().unwrap().control_messages, 1);
    }

    #[test]
    fn log_groups_switch_formats_by_header_lines() {
        let flow_logs = FlowLogs::from_json(
            br#"{"FlowLogs":[{"LogGroupName":"g4","LogFormat":"${version} ${srcaddr} ${dstaddr}"},
                             {"LogGroupName":"g2"}]}"#,
        )
        .unwrap()
        .0;
        let json = r#"{"logGroup":"other","logEvents":[{"message":"1"}]}
{"logGroup":"g4","logEvents":[{"message":"2"},{"message":"3"}]}
{"logGroup":"other","logEvents":[{"message":"4"}]}"#;
        let (out, err, report) = read(json, &formats(flow_logs));
        assert!(err.is_none());
        let v2 = Format::default_v2().header();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("1\nversion srcaddr dstaddr\n2\n3\n{v2}\n4\n")
        );
        let r = report.lock().unwrap();
        assert_eq!(r.inserted_headers, [2, 5]);
        // Lines handed on 3, 4 and 6 are the input's events 2, 3 and 4.
        assert_eq!([3, 4, 6].map(|l| r.input_line(l)), [2, 3, 4]);
    }

    #[test]
    fn errors_name_the_document_and_offset_after_the_events_before() {
        let f = formats(FlowLogs::default());
        let (out, err, _) = read(
            r#"{"events":[{"message":"a"}]} {"awslogs":{"data":"H4sI"}}"#,
            &f,
        );
        assert_eq!(out, b"a\n");
        let e = form_error_of(&err.unwrap()).unwrap().0;
        assert!(
            e.contains("document 2 (from byte 28)") && e.contains("no \"events\""),
            "{e}"
        );
        let (out, err, _) = read(r#"{"events":[{"message":"a"}]}{"events":[{"mess"#, &f);
        assert_eq!(out, b"a\n");
        let e = form_error_of(&err.unwrap()).unwrap().0;
        assert!(e.contains("cut short") && e.contains("document 2"), "{e}");
        let (_, err, _) = read(r#"{"events":[{"timestamp":1}]}"#, &f);
        let e = form_error_of(&err.unwrap()).unwrap().0;
        assert!(e.contains("events[0] has no \"message\""), "{e}");
        let (_, err, _) = read(r#"{"events":"x"}"#, &f);
        let e = form_error_of(&err.unwrap()).unwrap().0;
        assert!(
            e.contains("not CloudWatch Logs JSON") && e.contains("column"),
            "{e}"
        );
    }
}
