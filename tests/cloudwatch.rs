//! CloudWatch Logs delivery forms (issue 21, docs/delivery-forms.md): each
//! form gives the same report as the same records in S3 text form, for
//! every command that reads logs, from files, stdin and several threads;
//! what is not a flow log is named with its file and line, log event or
//! byte offset; damaged input never panics.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::util::{gz, json, repo, run, run_stdin, stderr, write};

const CW: &str = "tests/data/cloudwatch";
const RETAIL: &str = "sample-logs/retail-store";
const RETAIL_DAY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20";

/// A command's JSON with what depends on the bytes of the input rather
/// than its records left out: sizes, files, lines and header lines (an S3
/// object has a header line, a CloudWatch Logs form none).
fn records_json(out: &std::process::Output) -> Value {
    let mut doc = json(out);
    if let Some(input) = doc.get_mut("input").and_then(Value::as_object_mut) {
        for k in [
            "files",
            "lines",
            "headers",
            "bytes_read",
            "bytes_decompressed",
            "control_messages",
        ] {
            input.remove(k);
        }
    }
    doc
}

fn cw(name: &str) -> String {
    format!("{CW}/{name}")
}

/// The retail sample's objects: each one's header line and data lines
/// (the day holds three flow logs of three formats), and the sample's
/// directory.
fn retail_objects() -> (Vec<(String, Vec<String>)>, PathBuf) {
    let dir = repo().join(RETAIL).join(RETAIL_DAY);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for f in files {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap()),
            &mut text,
        )
        .unwrap();
        let mut lines = text.lines().map(str::to_string);
        let header = lines.next().unwrap();
        assert!(header.starts_with("version "));
        objects.push((header, lines.collect()));
    }
    (objects, dir)
}

const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

/// The records of the retail sample's default-format (v2) objects, and a
/// directory holding those objects alone.
fn retail_records(dir: &Path) -> (Vec<String>, PathBuf) {
    let (objects, sample) = retail_objects();
    let v2_dir = dir.join("v2-objects");
    std::fs::create_dir_all(&v2_dir).unwrap();
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(&sample).unwrap() {
        let path = entry.unwrap().path();
        let mut head = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
                std::fs::File::open(&path).unwrap(),
            )),
            &mut head,
        )
        .unwrap();
        if head.trim_end() == V2 {
            std::fs::copy(&path, v2_dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    for (header, records) in objects {
        if header == V2 {
            lines.extend(records);
        }
    }
    assert!(lines.len() >= 10_000, "{}", lines.len());
    (lines, v2_dir)
}

/// `2025-11-20T00:00:00.000Z` for epoch seconds `t` (civil from days).
fn export_time(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A Firehose delivery of `messages` from `group`: gzip members of
/// subscription envelopes, `per` events each.
fn firehose(messages: &[String], group: &str, per: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, batch) in messages.chunks(per).enumerate() {
        let events: Vec<Value> = batch
            .iter()
            .enumerate()
            .map(|(j, m)| json!({"id": format!("{i}{j}"), "timestamp": 0, "message": m}))
            .collect();
        let envelope = json!({
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": group,
            "logStream": "eni-0a-all",
            "subscriptionFilters": ["all"],
            "logEvents": events,
        });
        out.extend(gz(envelope.to_string().as_bytes()));
    }
    out
}

fn control_message() -> Vec<u8> {
    std::fs::read(
        repo()
            .join(CW)
            .join("openobserve/control-message.member.gz"),
    )
    .unwrap()
}

/// The retail sample in every CloudWatch Logs form, in `dir`.
struct RetailForms {
    export: String,
    pages: String,
    firehose: String,
    firehose_double: String,
    sample: PathBuf,
}

fn retail_forms(dir: &Path) -> RetailForms {
    let (lines, sample) = retail_records(dir);
    let mut export = String::new();
    for l in &lines {
        let start: i64 = l.split(' ').nth(10).unwrap().parse().unwrap();
        export.push_str(&format!("{} {l}\n", export_time(start)));
    }
    let mut pages = String::new();
    let chunks: Vec<&[String]> = lines.chunks(7_000).collect();
    for (i, c) in chunks.iter().enumerate() {
        let events: Vec<Value> = c
            .iter()
            .map(|m| json!({"logStreamName": "eni-0a-all", "timestamp": 0, "message": m, "ingestionTime": 0, "eventId": "1"}))
            .collect();
        let mut page = json!({"events": events, "searchedLogStreams": []});
        if i + 1 < chunks.len() {
            page["nextToken"] = json!(format!("token{i}"));
        }
        pages.push_str(&serde_json::to_string_pretty(&page).unwrap());
        pages.push('\n');
    }
    let half = lines.len() / 2;
    let mut fh = firehose(&lines[..half], "/aws/vpc/retail", 300);
    fh.extend(control_message());
    fh.extend(firehose(&lines[half..], "/aws/vpc/retail", 300));
    RetailForms {
        export: write(
            dir,
            "exportedlogs/task-1/eni-0a-all/000000.gz",
            &gz(export.as_bytes()),
        ),
        pages: write(dir, "filter-log-events.json", pages.as_bytes()),
        firehose_double: write(
            dir,
            "s3/2025/11/20/00/flowlogs-1-2025-11-20-00-15-02-0b3e4a1c-9d2f-4e1a-8b7c-1234567890ab",
            &gz(&fh),
        ),
        firehose: write(dir, "firehose-1-2025-11-20-00-00-00-uuid.gz", &fh),
        sample,
    }
}

#[test]
fn every_command_gives_the_s3_text_forms_report() {
    let dir = tempfile::tempdir().unwrap();
    let f = retail_forms(dir.path());
    let sample = f.sample.to_str().unwrap();
    let inv = tempfile::tempdir().unwrap();
    for name in [
        "security-groups.json",
        "template.json",
        "network-interfaces.json",
    ] {
        std::fs::copy(repo().join(RETAIL).join(name), inv.path().join(name)).unwrap();
    }
    let commands: Vec<Vec<&str>> = vec![
        vec!["summarize", "-o", "json"],
        vec!["summarize", "-o", "json", "-j", "1"],
        vec!["top", "-o", "json", "--by", "src"],
        vec![
            "scans",
            "-o",
            "json",
            "--min-ports",
            "2",
            "--min-targets",
            "2",
            "--min-reject-pct",
            "0",
        ],
        vec!["recommend", "-o", "json", inv.path().to_str().unwrap()],
    ];
    for cmd in &commands {
        let want = records_json(&run(&[&cmd[..], &[sample]].concat()));
        assert!(want["input"]["records"].as_u64().unwrap_or(1) > 0);
        for form in [&f.export, &f.pages, &f.firehose, &f.firehose_double] {
            let out = run(&[&cmd[..], &[form.as_str()]].concat());
            assert!(
                want == records_json(&out),
                "{cmd:?} {form}: the JSON differs from the S3 text form's; stderr: {}",
                stderr(&out)
            );
        }
    }
    // query prints the records' lines: the same lines, in the same order.
    let q = |input: &str| run(&["query", "--action", "reject", "-j", "1", input]).stdout;
    let want = q(sample);
    assert!(!want.is_empty());
    for form in [&f.export, &f.pages, &f.firehose, &f.firehose_double] {
        assert!(q(form) == want, "query {form}: the lines differ");
    }
    // The control message is counted, not read as a line.
    let doc = json(&run(&["summarize", "-o", "json", &f.firehose]));
    assert_eq!(doc["input"]["control_messages"], 1);
    assert_eq!(doc["input"]["headers"], 0);
    let n = |k: &str| doc["input"][k].as_u64().unwrap();
    assert_eq!(n("lines"), n("records") + n("nodata") + n("skipdata"));
}

#[test]
fn standard_input_and_an_input_among_others() {
    let dir = tempfile::tempdir().unwrap();
    let f = retail_forms(dir.path());
    let want = records_json(&run(&[
        "summarize",
        "-o",
        "json",
        f.sample.to_str().unwrap(),
    ]));
    for form in [&f.export, &f.pages, &f.firehose_double] {
        let bytes = std::fs::read(form).unwrap();
        for j in ["1", "2"] {
            let out = run_stdin(&["summarize", "-o", "json", "-j", j, "-"], &bytes);
            assert!(
                want == records_json(&out),
                "stdin -j{j} {form}: {}",
                stderr(&out)
            );
        }
    }
    // A directory walk takes Firehose's extension-less object names.
    let out = run(&[
        "summarize",
        "-o",
        "json",
        dir.path().join("s3").to_str().unwrap(),
    ]);
    assert!(want == records_json(&out), "{}", stderr(&out));
    // Both halves of a Firehose delivery, one file each, read by two workers.
    let (lines, _) = retail_records(&dir.path().join("again"));
    let half = lines.len() / 2;
    let a = write(dir.path(), "a.gz", &firehose(&lines[..half], "g", 1000));
    let b = write(dir.path(), "b.gz", &firehose(&lines[half..], "g", 1000));
    let out = run(&["summarize", "-o", "json", "-j", "2", &a, &b]);
    assert!(want == records_json(&out), "{}", stderr(&out));
}

#[test]
fn the_repositorys_samples_read_as_their_s3_text_form() {
    let export_like = [
        "constructed/export-task.000000.gz",
        "goaccess-1341/export-task.v2.log",
        "constructed/filter-log-events.json",
        "constructed/filter-log-events.pages.json",
        "constructed/get-log-events.pages.json",
        "constructed/logs-tail.detailed.log",
        "constructed/logs-tail.short.log",
    ];
    let firehose_like = [
        "constructed/firehose-s3.gz",
        "constructed/firehose-s3.double.gz",
        "constructed/firehose-s3.decompressed.json",
        "constructed/firehose-s3.decompressed-nl.json",
    ];
    for (equivalent, forms) in [
        (
            "constructed/export-task.s3-equivalent.log",
            &export_like[..],
        ),
        (
            "constructed/firehose-s3.s3-equivalent.log",
            &firehose_like[..],
        ),
    ] {
        for cmd in [
            vec!["summarize", "-o", "json"],
            vec!["top", "-o", "json", "--by", "dst"],
        ] {
            let want = records_json(&run(&[&cmd[..], &[&cw(equivalent)]].concat()));
            let flows = want["input"]["records"].as_u64();
            assert!(flows.or(want["total"]["flows"].as_u64()).unwrap() >= 3);
            for form in forms {
                let out = run(&[&cmd[..], &[&cw(form)]].concat());
                assert!(out.status.success(), "{form}: {}", stderr(&out));
                assert!(
                    want == records_json(&out),
                    "{cmd:?} {form}: {}",
                    stderr(&out)
                );
            }
        }
    }
    for (form, control) in [
        ("constructed/firehose-s3.gz", 1),
        ("constructed/firehose-s3.decompressed-nl.json", 1),
        ("openobserve/control-message.member.gz", 1),
        (
            "aws-samples-splunk-lambda/subscription-vpcflow.member.gz",
            0,
        ),
    ] {
        let doc = json(&run(&["summarize", "-o", "json", &cw(form)]));
        assert_eq!(
            doc["input"]["control_messages"].as_u64().unwrap_or(0),
            control,
            "{form}"
        );
    }
    // A flow log sent straight to Firehose: one record.
    let doc = json(&run(&[
        "summarize",
        "-o",
        "json",
        &cw("openobserve/firehose-direct-record.json"),
    ]));
    assert_eq!(doc["input"]["records"], 1);
    // The otel sample: two records under the documentation's example.
    let doc = json(&run(&[
        "summarize",
        "-o",
        "json",
        &cw("otel-contrib/valid_vpc_flow_cw.json"),
    ]));
    assert_eq!(doc["input"]["records"], 2);
}

/// describe-flow-logs output: the custom group's format, and another
/// flow log with the default (so that neither is the only format).
fn flow_logs_file(dir: &Path, custom_group: &str, custom: &str) -> String {
    let doc = json!({"FlowLogs": [
        {"FlowLogId": "fl-1", "LogGroupName": custom_group, "LogDestinationType": "cloud-watch-logs", "LogFormat": custom},
        {"FlowLogId": "fl-2", "LogGroupName": "/aws/vpc/default", "LogDestinationType": "cloud-watch-logs",
         "LogFormat": "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"},
    ]});
    write(
        dir,
        "flow-logs.json",
        serde_json::to_string_pretty(&doc).unwrap().as_bytes(),
    )
}

/// describe-flow-logs output: one flow log per format, each to the log
/// group `/aws/vpc/fmt<i>` (`${field}` syntax, as AWS prints it).
fn flow_logs_of(dir: &Path, headers: &[String]) -> String {
    let logs: Vec<Value> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let spec: Vec<String> = h.split(' ').map(|n| format!("${{{n}}}")).collect();
            json!({"FlowLogId": format!("fl-{i}"), "LogGroupName": format!("/aws/vpc/fmt{i}"),
                   "LogDestinationType": "cloud-watch-logs", "LogFormat": spec.join(" ")})
        })
        .collect();
    let doc = json!({ "FlowLogs": logs });
    write(
        dir,
        "flow-logs.json",
        serde_json::to_string_pretty(&doc).unwrap().as_bytes(),
    )
}

#[test]
fn flow_logs_give_each_log_groups_format() {
    let dir = tempfile::tempdir().unwrap();
    // Three flow logs of three formats, as in the sample's day.
    let (objects, sample) = retail_objects();
    let mut headers: Vec<String> = Vec::new();
    for (h, _) in &objects {
        if !headers.contains(h) {
            headers.push(h.clone());
        }
    }
    assert_eq!(headers.len(), 3);
    let flow_logs = flow_logs_of(dir.path(), &headers);
    let group = |h: &String| {
        let i = headers.iter().position(|x| x == h).unwrap();
        format!("/aws/vpc/fmt{i}")
    };
    // Every object's records as envelopes of its group, in one Firehose
    // object: the format switches back and forth.
    let mut fh = Vec::new();
    let mut exports = Vec::new();
    for (n, (h, records)) in objects.iter().enumerate() {
        fh.extend(firehose(records, &group(h), 400));
        // And as export objects, under a prefix named after the group.
        let text: String = records
            .iter()
            .map(|l| format!("2025-11-20T00:00:00.000Z {l}\n"))
            .collect();
        exports.push(write(
            dir.path(),
            &format!("exports{}/task-1/eni-{n}-all/000000.gz", group(h)),
            &gz(text.as_bytes()),
        ));
    }
    let fh = write(dir.path(), "mixed.gz", &fh);
    let total: usize = objects.iter().map(|(_, r)| r.len()).sum();
    let want = records_json(&run(&["summarize", "-o", "json", sample.to_str().unwrap()]));
    for j in ["1", "2"] {
        let out = run(&[
            "summarize",
            "-o",
            "json",
            "-j",
            j,
            "--flow-logs",
            &flow_logs,
            &fh,
        ]);
        assert!(want == records_json(&out), "-j{j}: {}", stderr(&out));
        let doc = json(&out);
        assert_eq!(
            doc["input"]["headers"], 0,
            "the header lines put in are not counted"
        );
        assert_eq!(doc["input"]["lines"].as_u64().unwrap(), total as u64);
        let exports: Vec<&str> = exports.iter().map(String::as_str).collect();
        let out = run(&[
            &[
                "summarize",
                "-o",
                "json",
                "-j",
                j,
                "--flow-logs",
                &flow_logs,
            ][..],
            &exports,
        ]
        .concat());
        assert!(
            want == records_json(&out),
            "exports -j{j}: {}",
            stderr(&out)
        );
    }
    // Without --flow-logs, the first record of another format than v2 is
    // named by its log event's number.
    let first_bad = objects
        .iter()
        .take_while(|(h, _)| h == V2)
        .map(|(_, r)| r.len())
        .sum::<usize>()
        + 1;
    assert!(first_bad > 1, "the sample's first object is v2");
    let out = run(&["summarize", "-o", "json", "-j", "1", &fh]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "mixed.gz:{first_bad}: skipped (field_count): log event {first_bad}:"
        )),
        "{err}"
    );
    // A describe-flow-logs file that is not one.
    let out = run(&[
        "summarize",
        "--flow-logs",
        &cw("constructed/filter-log-events.json"),
        &fh,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not aws ec2 describe-flow-logs output"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_otel_custom_sample_with_its_flow_log() {
    let dir = tempfile::tempdir().unwrap();
    let form = cw("otel-contrib/valid_vpc_flow_cw_custom.json");
    let out = run(&["summarize", "-o", "json", &form]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("read as CloudWatch Logs JSON: no line is a flow-log record")
            && err.contains("--flow-logs"),
        "{err}"
    );
    let fl = flow_logs_file(
        dir.path(),
        "/aws/vpc/flowlogs",
        "${version} ${interface-id} ${srcaddr} ${dstaddr}",
    );
    let out = run(&["summarize", "-o", "json", "--flow-logs", &fl, &form]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["input"]["records"], 2);
    // The chunk reader starts in the first envelope's format: query's line
    // numbers are the log events'.
    for j in ["1", "2"] {
        let out = run(&["query", "-o", "json", "-j", j, "--flow-logs", &fl, &form]);
        let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let numbers: Vec<&Value> = lines.iter().map(|l| &l["line"]).collect();
        assert_eq!(numbers, [1, 2], "-j{j}: {}", stderr(&out));
    }
    // Or --format for every input.
    let out = run(&[
        "summarize",
        "-o",
        "json",
        "--format",
        "${version} ${interface-id} ${srcaddr} ${dstaddr}",
        &form,
    ]);
    assert_eq!(json(&out)["input"]["records"], 2, "{}", stderr(&out));
}

#[test]
fn what_is_not_a_flow_log_is_named_by_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    // A Lambda log group's envelope among flow-log ones.
    let out = run(&[
        "summarize",
        "-o",
        "json",
        &cw("constructed/firehose-s3.hostile.gz"),
    ]);
    let err = stderr(&out);
    assert!(
        err.contains("firehose-s3.hostile.gz:2: skipped (field_count): log event 2:"),
        "{err}"
    );
    assert_eq!(json(&out)["input"]["records"], 1);
    // JSON that is no CloudWatch Logs output, after a page that is.
    let path = write(
        dir.path(),
        "lambda-event.json",
        br#"{"events":[{"message":"2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1 2 ACCEPT OK"}]}
{"awslogs": {"data": "H4sIAAAA"}}"#,
    );
    let out = run(&["summarize", "-o", "json", &path]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("lambda-event.json: read as CloudWatch Logs JSON: document 2 (from byte 79) has no \"events\""),
        "{err}"
    );
    assert_eq!(
        json(&out)["input"]["records"],
        1,
        "the events before it count"
    );
    assert_eq!(json(&out)["input"]["files_failed"], 1);
    // A page cut short in the middle (an interrupted redirect).
    let pages = std::fs::read(
        repo()
            .join(CW)
            .join("constructed/filter-log-events.pages.json"),
    )
    .unwrap();
    let cut = write(dir.path(), "cut.json", &pages[..pages.len() - 200]);
    let out = run(&["summarize", "-o", "json", &cut]);
    let err = stderr(&out);
    assert!(
        err.contains("cut.json: read as CloudWatch Logs JSON: the JSON ends inside document 2"),
        "{err}"
    );
    assert!(json(&out)["input"]["records"].as_u64().unwrap() >= 1);
    // An export line that is not a flow-log record: its line number.
    let export = b"2018-09-22T20:28:14.000Z 2 633112549318 eni-d68830d4 209.141.42.153 10.155.108.192 54252 8088 6 1 40 1537648094 1537648129 ACCEPT OK\n\
2018-09-22T20:28:15.000Z 2 633112549318 eni-d68830d4 209.141.42.153 10.155.108.192 54252 8088 6 1 40 1537648094 1537648129 ACCEPT OK\n\
2018-09-22T20:28:16.000Z START RequestId: 0 Version: $LATEST\n";
    let path = write(dir.path(), "000000.gz", &gz(export));
    let out = run(&["summarize", "-o", "json", &path]);
    let err = stderr(&out);
    assert!(err.contains("000000.gz:3: skipped (field_count)"), "{err}");
    assert_eq!(json(&out)["input"]["records"], 2);
}

#[test]
fn damaged_forms_never_panic_and_every_line_is_accounted() {
    use flowscope::engine::{run as engine_run, EngineOptions, Processor, RecordCtx};
    use flowscope::flowlog::reader::Input;
    use flowscope::flowlog::FlowRecord;

    struct Count;
    impl Processor for Count {
        fn record(&mut self, _: &FlowRecord, _: &RecordCtx<'_>) {}
        fn merge(&mut self, _: Self) {}
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    for form in [
        "constructed/firehose-s3.gz",
        "constructed/firehose-s3.decompressed.json",
        "constructed/export-task.000000.gz",
    ] {
        let good = std::fs::read(repo().join(CW).join(form)).unwrap();
        let mut variants: Vec<Vec<u8>> = (0..good.len()).map(|n| good[..n].to_vec()).collect();
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                variants.push(bad);
            }
        }
        for (i, v) in variants.iter().enumerate() {
            std::fs::File::create(&p).unwrap().write_all(v).unwrap();
            let opts = EngineOptions {
                threads: 1 + i % 2,
                ..Default::default()
            };
            let out = engine_run(&[Input::Path(p.clone())], &opts, || Count);
            assert!(
                out.accounting.is_balanced(),
                "{form} variant {i}: {:?}",
                out.accounting
            );
        }
    }
}

#[test]
fn export_times_are_the_records_start() {
    // The generator's time agrees with the real export's first line.
    assert_eq!(export_time(1_537_648_094), "2018-09-22T20:28:14.000Z");
}
