//! `aws ec2 describe-flow-logs` JSON (`--flow-logs FILE`): which format
//! each flow log writes, by log group (`LogGroupName`) and destination
//! (`LogDestination`). CloudWatch Logs forms carry no header line: the
//! format is the flow log's `LogFormat` (docs/delivery-forms.md §5).
//!
//! Which entry applies to an input, when nothing else says:
//! * a subscription envelope names its log group (`for_group`);
//! * an export object's S3 key, or a file's path, holds the log group's
//!   name or the S3 destination's prefix when the user chose it as the
//!   export prefix (`for_input`: matched as whole path segments);
//! * else, if every flow log listed writes the same format, that one;
//! * else none: `--format` or the default v2 (the caller says so).

use serde::Deserialize;

use crate::flowlog::format::Format;

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "FlowLogs")]
    flow_logs: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "FlowLogId")]
    id: Option<String>,
    #[serde(rename = "LogGroupName")]
    log_group: Option<String>,
    #[serde(rename = "LogDestination")]
    destination: Option<String>,
    #[serde(rename = "LogFormat")]
    format: Option<String>,
}

/// One flow log: where it writes and its format.
#[derive(Debug, Clone)]
struct FlowLog {
    log_group: Option<String>,
    /// The path segments of an S3 destination's `bucket/prefix`.
    destination: Option<String>,
    format: Format,
}

/// The flow logs of `--flow-logs`.
#[derive(Debug, Clone, Default)]
pub struct FlowLogs {
    logs: Vec<FlowLog>,
    /// The format every flow log listed writes, if they all write one.
    common: Option<Format>,
}

impl FlowLogs {
    /// Reads describe-flow-logs output (pages appended one after another
    /// are read alike). Returns the flow logs and warnings: an entry whose
    /// format cannot be used is left out and said so.
    pub fn from_json(bytes: &[u8]) -> Result<(FlowLogs, Vec<String>), String> {
        let mut logs = Vec::new();
        let mut warnings = Vec::new();
        for (n, page) in serde_json::Deserializer::from_slice(bytes)
            .into_iter::<Page>()
            .enumerate()
        {
            let page = page.map_err(|e| {
                format!(
                    "not aws ec2 describe-flow-logs output (document {}, an object with \
                     \"FlowLogs\"): {e}",
                    n + 1
                )
            })?;
            for (i, e) in page.flow_logs.into_iter().enumerate() {
                let name =
                    e.id.clone()
                        .unwrap_or_else(|| format!("FlowLogs[{i}] of document {}", n + 1));
                let format = match e.format.as_deref() {
                    None => Format::default_v2(),
                    Some(spec) => match Format::parse_typed(spec) {
                        Ok((f, unknown)) => {
                            for u in unknown {
                                warnings.push(format!(
                                    "flow log {name}: '{u}' is not a field flowscope knows: \
                                     its column is read and ignored"
                                ));
                            }
                            f
                        }
                        Err(err) => {
                            warnings.push(format!(
                                "flow log {name}: its LogFormat cannot be used ({err}); left out"
                            ));
                            continue;
                        }
                    },
                };
                // Formats are handed to the reader as header lines: one it
                // would not take as a header cannot be switched to.
                if Format::from_header_line(format.header().as_bytes()).as_ref() != Some(&format) {
                    warnings.push(format!(
                        "flow log {name}: its LogFormat ({}) is not one flowscope can read \
                         without a header line; left out",
                        format.header()
                    ));
                    continue;
                }
                let destination = e
                    .destination
                    .as_deref()
                    .and_then(|d| d.strip_prefix("arn:aws:s3:::"))
                    .map(|d| d.trim_matches('/').to_string());
                logs.push(FlowLog {
                    log_group: e.log_group,
                    destination,
                    format,
                });
            }
        }
        let common = match logs.split_first() {
            Some((first, rest)) if rest.iter().all(|l| l.format == first.format) => {
                Some(first.format.clone())
            }
            _ => None,
        };
        Ok((FlowLogs { logs, common }, warnings))
    }

    /// True when no flow log is listed.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }

    /// The format of the flow log writing to `log_group`, if one is listed.
    pub fn for_group(&self, log_group: &str) -> Option<&Format> {
        self.logs
            .iter()
            .find(|l| l.log_group.as_deref() == Some(log_group))
            .map(|l| &l.format)
    }

    /// The format of an input named `name` (a path or an s3:// URL):
    /// a flow log whose log group or S3 destination is in the name as
    /// whole segments, else the format all flow logs share.
    pub fn for_input(&self, name: &str) -> Option<&Format> {
        let name = name.strip_prefix("s3://").unwrap_or(name);
        self.logs
            .iter()
            .find(|l| {
                let group = l.log_group.as_deref().map(|g| g.trim_matches('/'));
                [group, l.destination.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|s| has_segments(name, s))
            })
            .map(|l| &l.format)
            .or(self.common.as_ref())
    }
}

/// True if `path` holds the `/`-separated segments of `part`, in a row.
fn has_segments(path: &str, part: &str) -> bool {
    if part.is_empty() {
        return false;
    }
    let path: Vec<&str> = path.split('/').collect();
    let part: Vec<&str> = part.split('/').collect();
    path.windows(part.len()).any(|w| w == part.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"{"FlowLogs": [
        {"FlowLogId": "fl-1", "LogGroupName": "/aws/vpc/flowlogs", "LogDestinationType": "cloud-watch-logs",
         "LogFormat": "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"},
        {"FlowLogId": "fl-2", "LogDestination": "arn:aws:s3:::my-bucket/custom", "LogDestinationType": "s3",
         "LogFormat": "${version} ${vpc-id} ${srcaddr} ${dstaddr}"}]}"#;

    #[test]
    fn formats_by_group_and_by_path() {
        let (f, warnings) = FlowLogs::from_json(TWO.as_bytes()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            f.for_group("/aws/vpc/flowlogs"),
            Some(&Format::default_v2())
        );
        assert_eq!(f.for_group("flowlogs"), None);
        let custom = Format::parse("version vpc-id srcaddr dstaddr").unwrap();
        assert_eq!(
            f.for_input("s3://my-bucket/custom/task/eni-1-all/000000.gz"),
            Some(&custom)
        );
        assert_eq!(
            f.for_input("exports/aws/vpc/flowlogs/t/000000.gz"),
            Some(&Format::default_v2())
        );
        // A segment must match whole; and the two formats differ: none.
        assert_eq!(f.for_input("s3://my-bucket/customer/x.gz"), None);
    }

    #[test]
    fn one_format_for_all_and_bad_entries() {
        let one = r#"{"FlowLogs":[{"LogGroupName":"a","LogFormat":"${version} ${srcaddr}"}]}
{"FlowLogs":[{"LogGroupName":"b","LogFormat":"${version} ${srcaddr}"},
             {"FlowLogId":"fl-x","LogGroupName":"c","LogFormat":"${version} ${version}"}]}"#;
        let (f, warnings) = FlowLogs::from_json(one.as_bytes()).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("fl-x"), "{warnings:?}");
        let v = Format::parse("version srcaddr").unwrap();
        assert_eq!(f.for_input("anything.gz"), Some(&v));
        let e = FlowLogs::from_json(br#"{"events":[]}"#).unwrap_err();
        assert!(
            e.contains("describe-flow-logs") && e.contains("FlowLogs"),
            "{e}"
        );
    }
}
