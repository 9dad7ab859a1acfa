//! Parquet flow logs (issue 20): the same logs give the same results as
//! text, nulls and bad values are skipped as in text and named by row,
//! damaged files are errors naming the file while the rest is read.
//!
//! Parquet files here are written from text with the `parquet` crate
//! (`to_parquet`), as AWS writes them: underscore column names, INT32 and
//! INT64 numbers, strings, nulls for `-`, GZIP.

use std::sync::Arc;

use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::damaged::{code, no_panic};
use crate::util::*;

const INCIDENT: &str = "sample-logs/incident";
const TWIN: &str = "sample-logs/incident-parquet";

/// The Parquet type of a column.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    I32,
    I64,
    Str,
}

/// AWS's type for a field (`flow-log-records`: INT_32, INT_64, STRING).
fn aws_kind(name: &str) -> Kind {
    match name {
        "version" | "srcport" | "dstport" | "protocol" | "tcp-flags" | "traffic-path" => Kind::I32,
        "packets" | "bytes" | "start" | "end" => Kind::I64,
        n if n.starts_with("packets-lost-") => Kind::I64,
        _ => Kind::Str,
    }
}

/// How `to_parquet` writes a file.
struct Shape {
    /// Rows per row group.
    group: usize,
    /// Columns of another type than AWS's.
    kinds: &'static [(&'static str, Kind)],
    /// Columns declared `required` (no nulls allowed).
    required: &'static [&'static str],
}

const AWS: Shape = Shape {
    group: 1000,
    kinds: &[],
    required: &[],
};

/// The Parquet file of a text log (a header line, then records; `-` is null).
fn to_parquet(text: &str, shape: &Shape) -> Vec<u8> {
    let mut lines = text.lines();
    let names: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let kinds: Vec<Kind> = names
        .iter()
        .map(|n| {
            shape
                .kinds
                .iter()
                .find(|(k, _)| k == n)
                .map_or(aws_kind(n), |(_, k)| *k)
        })
        .collect();
    let mut schema = String::from("message flow_log {\n");
    for (n, k) in names.iter().zip(&kinds) {
        let rep = if shape.required.contains(n) {
            "required"
        } else {
            "optional"
        };
        let t = match k {
            Kind::I32 => "int32",
            Kind::I64 => "int64",
            Kind::Str => "binary",
        };
        let ann = if *k == Kind::Str { " (STRING)" } else { "" };
        schema.push_str(&format!("  {rep} {t} {}{ann};\n", n.replace('-', "_")));
    }
    schema.push('}');
    let props = WriterProperties::builder()
        .set_compression(Compression::GZIP(GzipLevel::default()))
        .build();
    let mut w = SerializedFileWriter::new(
        Vec::new(),
        Arc::new(parse_message_type(&schema).unwrap()),
        Arc::new(props),
    )
    .unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(' ').collect()).collect();
    for group in rows.chunks(shape.group) {
        let mut g = w.next_row_group().unwrap();
        for (c, k) in kinds.iter().enumerate() {
            let mut col = g.next_column().unwrap().unwrap();
            let vals: Vec<&str> = group.iter().map(|r| r[c]).filter(|v| *v != "-").collect();
            let defs: Vec<i16> = group.iter().map(|r| i16::from(r[c] != "-")).collect();
            let defs = (!shape.required.contains(&names[c])).then_some(&defs[..]);
            match k {
                Kind::I32 => {
                    let v: Vec<i32> = vals.iter().map(|v| v.parse().unwrap()).collect();
                    col.typed::<Int32Type>().write_batch(&v, defs, None)
                }
                Kind::I64 => {
                    let v: Vec<i64> = vals.iter().map(|v| v.parse().unwrap()).collect();
                    col.typed::<Int64Type>().write_batch(&v, defs, None)
                }
                Kind::Str => {
                    let v: Vec<ByteArray> = vals.iter().map(|v| ByteArray::from(*v)).collect();
                    col.typed::<ByteArrayType>().write_batch(&v, defs, None)
                }
            }
            .unwrap();
            col.close().unwrap();
        }
        g.close().unwrap();
    }
    w.into_inner().unwrap()
}

/// A command's JSON output without what differs between text and Parquet
/// by nature: header lines, and the bytes read and decompressed.
fn comparable(mut doc: serde_json::Value) -> serde_json::Value {
    if let Some(input) = doc.get_mut("input").and_then(|i| i.as_object_mut()) {
        assert_balanced(&serde_json::Value::Object(input.clone()));
        let headers = input.remove("headers").unwrap().as_u64().unwrap();
        let lines = input.remove("lines").unwrap().as_u64().unwrap();
        input.insert("lines_but_headers".into(), (lines - headers).into());
        input.remove("bytes_read");
        input.remove("bytes_decompressed");
    }
    doc
}

/// Runs a command (no panic), its JSON made `comparable`.
fn run_json(args: &[&str]) -> serde_json::Value {
    let out = run(args);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    comparable(json(&out))
}

/// Runs `args` with `logs` in the place of `{}`.
fn with(args: &[&str], logs: &str) -> Vec<String> {
    args.iter()
        .map(|a| {
            if *a == "{}" {
                logs.to_string()
            } else {
                a.to_string()
            }
        })
        .collect()
}

fn same_json(args: &[&str], text: &str, parquet: &str) {
    let a = with(args, text);
    let b = with(args, parquet);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    assert_eq!(run_json(&a), run_json(&b), "{args:?}");
}

#[test]
fn the_incident_sample_and_its_parquet_twin_give_the_same_results() {
    let groups = format!("{INCIDENT}/security-groups.json");
    let enis = format!("{INCIDENT}/network-interfaces.json");
    same_json(
        &["summarize", "-o", "json", "--interfaces", &enis, "{}"],
        INCIDENT,
        TWIN,
    );
    same_json(
        &[
            "recommend",
            "-o",
            "json",
            "--groups",
            &groups,
            "--interfaces",
            &enis,
            "{}",
        ],
        INCIDENT,
        TWIN,
    );
    same_json(&["scans", "-o", "json", "{}"], INCIDENT, TWIN);
    for by in ["eni", "src", "port", "pair"] {
        same_json(&["top", "--by", by, "-o", "json", "{}"], INCIDENT, TWIN);
    }
    // A raw-column filter reads the line: every column is decoded then.
    same_json(
        &[
            "top",
            "--by",
            "dst",
            "--vpc",
            "vpc-0a1b2c3d4e5f60718",
            "-o",
            "json",
            "{}",
        ],
        INCIDENT,
        TWIN,
    );
    // query prints each record's line: rendered from the columns in the
    // flow log's order, as the text log has it.
    for args in [
        &["query", "-j1", "--port", "22", "{}"][..],
        &["query", "-j1", "{}"],
    ] {
        let text = run(&with(args, INCIDENT)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>());
        let pq = run(&with(args, TWIN)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>());
        assert_eq!(code(&pq), 0, "{}", stderr(&pq));
        assert!(!text.stdout.is_empty());
        assert_eq!(stdout(&text), stdout(&pq), "{args:?}");
    }
}

#[test]
fn generated_parquet_in_several_row_groups_reads_as_its_text() {
    // Mixed formats (v2, v3, v5 files), 20,000 records a file: two row
    // groups each; one file alone is read by several workers over its
    // row groups.
    let dir = tempfile::tempdir().unwrap();
    let (text, pq) = (dir.path().join("text"), dir.path().join("pq"));
    for (out, extra) in [(&text, None), (&pq, Some("--file-format=parquet"))] {
        let mut args = vec![
            "generate",
            "--records",
            "60000",
            "--files",
            "3",
            "--no-inventory",
        ];
        args.extend(extra);
        args.extend(["--out", out.to_str().unwrap()]);
        let o = run(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let (text, pq) = (text.to_str().unwrap(), pq.to_str().unwrap());
    for j in ["-j1", "-j3"] {
        same_json(&["summarize", j, "-o", "json", "{}"], text, pq);
        same_json(&["top", j, "--by", "port", "-o", "json", "{}"], text, pq);
    }
    let file = |root: &str, ext: &str| {
        let mut files: Vec<_> = walk(std::path::Path::new(root))
            .into_iter()
            .filter(|p| p.to_string_lossy().ends_with(ext))
            .collect();
        files.sort();
        files[2].to_string_lossy().into_owned()
    };
    let (one_text, one_pq) = (file(text, ".log.gz"), file(pq, ".log.parquet"));
    for j in ["-j1", "-j2", "-j4"] {
        same_json(&["summarize", j, "-o", "json", "{}"], &one_text, &one_pq);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// v5 fields in a custom order, records with nulls, bad values and an
/// interface id that is not an `eni-` one: each as text and as Parquet.
const CUSTOM: &str = "\
flow-direction srcaddr interface-id action dstaddr srcport dstport protocol packets bytes start end log-status tcp-flags traffic-path pkt-srcaddr vpc-id
ingress 198.51.100.7 eni-0a1b2c3d4e5f60718 ACCEPT 10.0.1.5 50123 443 6 10 840 1700000000 1700000060 OK 2 - 198.51.100.7 vpc-1
egress 10.0.1.5 eni-0a1b2c3d4e5f60718 ACCEPT 198.51.100.7 443 50123 6 8 1200 1700000000 1700000060 OK 18 2 10.0.1.5 vpc-1
ingress - eni-0a1b2c3d4e5f60718 ACCEPT 10.0.1.5 50124 443 6 1 40 1700000000 1700000060 OK 2 - - vpc-1
- - eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 NODATA - - - vpc-1
ingress 203.0.113.9 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40000 70000 6 1 40 1700000000 1700000060 OK 2 - - vpc-1
ingress 203.0.113.9 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40000 22 300 1 40 1700000000 1700000060 OK 2 - - vpc-1
ingress 203.0.113.9 eni-0a1b2c3d4e5f60718 ALLOW 10.0.1.5 40000 22 6 1 40 1700000000 1700000060 OK 2 - - vpc-1
sideways 203.0.113.9 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40000 22 6 1 40 1700000000 1700000060 OK 2 - - vpc-1
ingress 203.0.113.9 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40000 22 6 1 -40 1700000000 1700000060 OK 2 - - vpc-1
ingress 203.0.113.10 odd-interface-7 REJECT 10.0.1.6 40001 3389 6 1 40 1700000000 1700000060 OK 2 - - vpc-1
ingress 203.0.113.11 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40002 23 6 1 40 1700000000 1700000060 - 2 - - vpc-1
ingress 203.0.113.12 eni-0a1b2c3d4e5f60718 REJECT 10.0.1.5 40003 23 - 1 40 1700000000 1700000060 OK 2 - - vpc-1
ingress 2001:db8::5 eni-0a1b2c3d4e5f60718 ACCEPT 2600:1f18::1 50000 443 6 3 300 1700000000 1700000060 OK 2 - - vpc-1
- - eni-0a1b2c3d4e5f60718 - - - - - - - 1700000000 1700000060 SKIPDATA - - - vpc-1
";

#[test]
fn nulls_and_bad_values_are_skipped_as_in_text_and_named_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let text = write(dir.path(), "custom.log", CUSTOM.as_bytes());
    let shapes = [
        // AWS's types, three rows a row group.
        Shape { group: 3, ..AWS },
        // Numbers as strings (other writers), required columns.
        Shape {
            group: 5,
            kinds: &[
                ("srcport", Kind::Str),
                ("packets", Kind::Str),
                ("dstport", Kind::I64),
            ],
            required: &["interface-id", "start", "end"],
        },
    ];
    let want = run_json(&["summarize", "-o", "json", &text]);
    let skipped = &want["input"]["skipped"];
    for (reason, n) in [
        ("missing_field", 2),
        ("bad_port", 1),
        ("bad_protocol", 1),
        ("bad_action", 1),
        ("bad_flow_direction", 1),
        ("bad_number", 1),
        ("bad_log_status", 1),
    ] {
        assert_eq!(skipped[reason], n, "{reason}: {skipped}");
    }
    assert_eq!(want["input"]["nodata"], 1);
    assert_eq!(want["input"]["skipdata"], 1);
    for (i, shape) in shapes.iter().enumerate() {
        let name = format!("custom{i}.log.parquet");
        let p = write(dir.path(), &name, &to_parquet(CUSTOM, shape));
        let out = run(&["summarize", "-o", "json", &p]);
        no_panic(&out);
        assert_eq!(comparable(json(&out)), want, "shape {i}");
        // The odd interface id is named, from the line rendered for it.
        assert!(stdout(&out).contains("odd-interface-7"), "shape {i}");
        // Skipped rows are named by file and row (1-based, no header).
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "{name}:3: skipped (missing_field): row 3: field 'srcaddr' is null"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "{name}:5: skipped (bad_port): row 5: field 'dstport' = \"70000\""
            )),
            "{err}"
        );
    }
    // Lines rendered in the file's order, as the text has them.
    let p = dir.path().join("custom0.log.parquet");
    let q = run(&["query", "-j1", "--include-nodata", p.to_str().unwrap()]);
    let t = run(&["query", "-j1", "--include-nodata", &text]);
    assert_eq!(stdout(&q), stdout(&t));
    assert!(stdout(&q).contains("ingress 2001:db8::5 eni-0a1b2c3d4e5f60718 ACCEPT"));
}

#[test]
fn a_damaged_parquet_file_is_an_error_naming_it_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..6000 {
        text.push_str(&format!(
            "2 123456789010 eni-0a1b2c3d 10.0.1.{} 10.0.2.20 {} 5432 6 3 {} 1700000000 1700000060 ACCEPT OK\n",
            i % 250 + 1,
            40000 + i,
            100 + i
        ));
    }
    let good = to_parquet(&text, &AWS);
    let ok = write(dir.path(), "good.log.parquet", &good);
    // Cut short: the footer (schema, row groups) is gone.
    let cut = write(dir.path(), "cut.log.parquet", &good[..good.len() / 2]);
    // Damage inside the data: bytes of the middle row groups overwritten.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 400] {
        *b = 0xa5;
    }
    let smashed = write(dir.path(), "smashed.log.parquet", &bad);
    // Only the magic.
    let stub = write(dir.path(), "stub.log.parquet", b"PAR1");
    for j in ["-j1", "-j3"] {
        let out = run(&["summarize", j, "-o", "json", &ok, &cut, &smashed, &stub]);
        no_panic(&out);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let err = stderr(&out);
        for name in ["cut.log.parquet", "smashed.log.parquet", "stub.log.parquet"] {
            assert!(
                err.lines()
                    .any(|l| l.contains(name) && l.contains("flowscope: error")),
                "{name}: {err}"
            );
        }
        assert!(err.contains("damaged Parquet file"), "{err}");
        let doc = json(&out);
        let input = &doc["input"];
        assert_balanced(input);
        assert_eq!(input["files"], 4);
        assert_eq!(input["files_failed"], 3);
        // The good file whole, and the smashed one's rows before the damage.
        let records = input["records"].as_u64().unwrap();
        assert!((6000..12000).contains(&records), "{input}");
    }
    // A single damaged file read by several workers over its row groups.
    let out = run(&["summarize", "-j3", "-o", "json", &smashed]);
    no_panic(&out);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("smashed.log.parquet: "),
        "{}",
        stderr(&out)
    );
    assert_balanced(&json(&out)["input"]);
}

#[test]
fn parquet_that_is_not_a_flow_log_is_refused_clearly_and_parquet_on_stdin_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let other = to_parquet("name colour\napple red\npear green\n", &AWS);
    let p = write(dir.path(), "fruit.parquet", &other);
    let out = run(&["summarize", "-o", "json", &p]);
    no_panic(&out);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out)
            .contains("fruit.parquet: none of its columns (name, colour) is a flow-log field"),
        "{}",
        stderr(&out)
    );
    let twin = std::fs::read(first_parquet(TWIN)).unwrap();
    // Told by its magic, whatever its name.
    let named = write(dir.path(), "misnamed.log.gz", &twin);
    let out = run(&["summarize", "-o", "json", &named]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(json(&out)["input"]["records"].as_u64().unwrap() > 0);
    // On standard input: read whole (its index is at its end), then as
    // the file is.
    let piped = run_stdin(&["summarize", "-o", "json", "-"], &twin);
    no_panic(&piped);
    assert_eq!(code(&piped), 0, "{}", stderr(&piped));
    let (from_file, from_stdin) = (json(&out), json(&piped));
    assert_eq!(from_stdin["rows"], from_file["rows"]);
    assert_eq!(from_stdin["input"], from_file["input"]);
}

fn first_parquet(root: &str) -> std::path::PathBuf {
    let mut files: Vec<_> = walk(&repo().join(root))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".log.parquet"))
        .collect();
    files.sort();
    files.remove(0)
}

/// A directory holding Parquet and text logs side by side: each read as
/// what its bytes are, through one path, and counted once.
#[test]
fn a_directory_mixing_parquet_and_text_reads_each_as_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (mixed, text) = (dir.path().join("mixed"), dir.path().join("text"));
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::create_dir_all(&text).unwrap();
    let one = CUSTOM;
    let two = CUSTOM.replace("10.0.1.5", "10.0.9.9");
    write(&text, "a.log", one.as_bytes());
    write(&text, "b.log", two.as_bytes());
    write(&mixed, "a.log.gz", &gz(one.as_bytes()));
    write(&mixed, "b.log.parquet", &to_parquet(&two, &AWS));
    let (mixed, text) = (mixed.to_str().unwrap(), text.to_str().unwrap());
    for j in ["-j1", "-j2"] {
        same_json(&["summarize", j, "-o", "json", "{}"], text, mixed);
        same_json(&["top", j, "--by", "src", "-o", "json", "{}"], text, mixed);
    }
    let doc = run_json(&["summarize", "-o", "json", mixed]);
    assert_eq!(doc["input"]["files"], 2);
}

/// A Parquet file cut short on standard input: an error naming it, the
/// exit status of a damaged file, and the files given beside it read.
#[test]
fn a_truncated_parquet_file_on_stdin_is_an_error_naming_it() {
    let twin = std::fs::read(first_parquet(TWIN)).unwrap();
    let cut = &twin[..twin.len() - 100];
    let out = run_stdin(&["summarize", "-o", "json", "-", INCIDENT], cut);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("<stdin>") && l.contains("damaged Parquet file")),
        "{err}"
    );
    let input = &json(&out)["input"];
    assert_balanced(input);
    assert_eq!(input["files_failed"], 1);
    assert!(input["records"].as_u64().unwrap() > 1000, "{input}");
}

/// The retail sample's v5 files (they carry `pkt-src-aws-service` and
/// `pkt-dst-aws-service`), one service renamed to a name `AwsService` does
/// not list, as text and as Parquet, beside the sample's inventory.
fn v5_with_a_new_service(root: &std::path::Path) -> (String, String) {
    use std::io::Read;
    let sample = repo().join("sample-logs/retail-store");
    let (text, pq) = (root.join("text"), root.join("pq"));
    for d in [&text, &pq] {
        std::fs::create_dir_all(d).unwrap();
        for inv in ["security-groups.json", "network-interfaces.json"] {
            std::fs::copy(sample.join(inv), d.join(inv)).unwrap();
        }
    }
    let mut n = 0;
    for f in walk(&sample.join("AWSLogs")) {
        let mut body = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_string(&mut body)
            .unwrap();
        if !body.lines().next().unwrap().contains("pkt-dst-aws-service") {
            continue;
        }
        let body = body.replace(" AMAZON ", " NEW_SERVICE_2031 ");
        let name = f.file_name().unwrap().to_str().unwrap().replace(".gz", "");
        write(&text, &name, body.as_bytes());
        write(&pq, &format!("{name}.parquet"), &to_parquet(&body, &AWS));
        n += 1;
    }
    assert!(n >= 4, "v5 files in the sample: {n}");
    (
        text.to_str().unwrap().to_string(),
        pq.to_str().unwrap().to_string(),
    )
}

#[test]
fn v5_services_from_parquet_recommend_as_from_text_and_new_names_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (text, pq) = v5_with_a_new_service(dir.path());
    for j in ["-j1", "-j2"] {
        same_json(&["recommend", j, "-o", "json", "{}"], &text, &pq);
    }
    // The name the list lacks is the evidence's, as the log wrote it.
    let doc = run_json(&["recommend", "-o", "json", &pq]);
    let named: Vec<String> = doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["evidence"]["public_destinations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["aws_service"].as_str().map(str::to_string))
        .collect();
    assert!(named.iter().any(|s| s == "NEW_SERVICE_2031"), "{named:?}");
    assert!(named.iter().any(|s| s == "DYNAMODB"), "{named:?}");
}

/// Transit Gateway flow logs as Parquet: their attachments, drops and
/// VPCs as from the same records as text.
#[test]
fn transit_gateway_parquet_reads_as_its_text() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "tgw-default.s3-with-header.log",
        "tgw-scan.s3-with-header.log",
    ] {
        let text =
            std::fs::read_to_string(repo().join("tests/data/tgw/constructed").join(name)).unwrap();
        let pq = write(
            dir.path(),
            &format!("{name}.parquet"),
            &to_parquet(&text, &AWS),
        );
        let text = format!("tests/data/tgw/constructed/{name}");
        for args in [
            &["summarize", "-o", "json", "{}"][..],
            &["top", "--by", "eni", "-o", "json", "{}"],
            &["scans", "-o", "json", "--min-reject-pct", "0", "{}"],
        ] {
            same_json(args, &text, &pq);
        }
        let doc = run_json(&["summarize", "-o", "json", &pq]);
        assert!(
            doc.to_string().contains("tgw-attach-"),
            "{name}: no attachment in {doc}"
        );
    }
}
