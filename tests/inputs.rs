//! What an input holds, told by its bytes (issue 16: BOM, UTF-16,
//! compression formats, unopenable inputs, millisecond times, formats
//! without addresses, duplicate header fields, zero-padded gzip, CR line
//! endings, control characters; issue 17: inputs none of whose lines
//! parse, misspelt `--format` fields). Each test failed before its fix.

use crate::damaged::{code, no_panic, rec, records, summarize, HEADER};
use crate::util::*;

/// A header in an order other than the default: read with the default
/// format instead, addresses and ports land in the wrong columns.
const CUSTOM: &str = "interface-id dstaddr srcaddr dstport srcport protocol packets bytes start end action log-status account-id version\n";

fn custom_rec(i: usize) -> String {
    format!(
        "eni-0a1b2c3d 10.0.2.20 10.0.1.{} 5432 {} 6 3 {} 1700000000 1700000060 ACCEPT OK 123456789010 2\n",
        i % 250 + 1,
        40000 + i,
        100 + i
    )
}

/// The server ports of summarize's rows, sorted.
fn ports(doc: &serde_json::Value) -> Vec<u64> {
    let mut p: Vec<u64> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["port"].as_u64())
        .collect();
    p.sort();
    p.dedup();
    p
}

#[test]
fn a_utf8_bom_before_the_header_line_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "\u{feff}{CUSTOM}{}",
        (0..5).map(custom_rec).collect::<String>()
    );
    let plain = write(dir.path(), "bom.log", text.as_bytes());
    let zipped = write(dir.path(), "bom.log.gz", &gz(text.as_bytes()));
    for p in [&plain, &zipped] {
        let (doc, out) = summarize(&[p]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(doc["input"]["headers"], 1, "{p}");
        assert_eq!(doc["input"]["records"], 5, "{p}");
        assert_eq!(ports(&doc), vec![5432], "{p}");
    }
    // Streamed (standard input), and inflated by the streaming reader.
    for data in [text.as_bytes().to_vec(), gz(text.as_bytes())] {
        let out = run_stdin(&["summarize", "-o", "json", "-"], &data);
        assert_eq!(json(&out)["input"]["headers"], 1, "{}", stderr(&out));
        assert_eq!(ports(&json(&out)), vec![5432]);
    }
}

#[test]
fn utf16_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}{}", records(3));
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let with_bom = [&[0xff, 0xfe][..], &le].concat();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (name, data) in [("le.log", le), ("bom.log", with_bom), ("be.log", be)] {
        let p = write(dir.path(), name, &data);
        let (doc, out) = summarize(&[&p]);
        assert_eq!(code(&out), 1, "{name}");
        assert_eq!(doc["input"]["files_failed"], 1, "{name}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains("UTF-16"), "{err}");
    }
}

#[test]
fn inputs_that_cannot_be_opened_are_counted_as_failed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "good.log", records(3).as_bytes());
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling.log")).unwrap();
    let fifo = d.join("pipe.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (doc, out) = summarize(&[d.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let input = &doc["input"];
    assert_eq!(input["files"], 3, "{input}");
    assert_eq!(input["files_failed"], 2, "{input}");
    assert_eq!(input["records"], 3);
    // Named on the command line: a missing file, next to a good one; the
    // table says so too.
    let good = d.join("good.log");
    let missing = d.join("missing.log");
    let out = run(&[
        "summarize",
        good.to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("2 files (1 failed)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn zstd_is_read_and_other_compressions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Made by the zstd tool: two frames, the first with a checksum.
    let fixture = repo().join("tests/data/inputs/two-frames.log.zst");
    let (doc, out) = summarize(&[fixture.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 5);
    assert_eq!(doc["input"]["headers"], 1);
    // Larger, from the encoder here, on a file and on standard input.
    let text = format!("{HEADER}{}", records(20_000));
    let zst = ruzstd::encoding::compress_to_vec(
        text.as_bytes(),
        ruzstd::encoding::CompressionLevel::Fastest,
    );
    let p = write(dir.path(), "big.log", &zst);
    let (doc, out) = summarize(&[&p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 20_000);
    assert!(doc["input"]["bytes_read"].as_u64().unwrap() < text.len() as u64);
    let out = run_stdin(&["summarize", "-o", "json", "-"], &zst);
    assert_eq!(json(&out)["input"]["records"], 20_000);
    // A directory walk takes `.zst` files.
    write(dir.path(), "walk/a.log.zst", &zst);
    let (doc, _) = summarize(&[dir.path().join("walk").to_str().unwrap()]);
    assert_eq!(doc["input"]["records"], 20_000);
    // Cut short: the records before the damage, and an error naming it.
    let p = write(dir.path(), "cut.log.zst", &zst[..zst.len() / 2]);
    let (doc, out) = summarize(&[&p]);
    assert_eq!(code(&out), 1);
    assert_eq!(doc["input"]["files_failed"], 1);
    assert!(stderr(&out).contains("cut.log.zst: corrupt or truncated zstd data"));

    let refused: &[(&str, &[u8], &str)] = &[
        ("a.log.bz2", b"BZh91AY&SY\x01\x02\x03\x04", "bzip2"),
        ("a.log.xz", b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46", "xz"),
        ("a.log.lz4", b"\x04\x22\x4d\x18\x64\x40\xa7\x00", "LZ4"),
        ("a.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "zip"),
    ];
    for (name, data, what) in refused {
        let p = write(dir.path(), name, data);
        let (doc, out) = summarize(&[&p]);
        assert_eq!(code(&out), 1, "{name}");
        assert_eq!(doc["input"]["files_failed"], 1, "{name}");
        assert_eq!(doc["input"]["lines"], 0, "{name}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains(what), "{err}");
    }
}

/// A tar archive of `files` (ustar headers, no compression).
fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn tar_archives_are_refused_not_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let a = records(4);
    let archive = tar(&[("a.log", a.as_bytes()), ("b.log", a.as_bytes())]);
    for (name, data) in [("logs.tar", archive.clone()), ("logs.tgz", gz(&archive))] {
        let p = write(dir.path(), name, &data);
        let (doc, out) = summarize(&[&p]);
        assert_eq!(code(&out), 1, "{name}");
        assert_eq!(doc["input"]["records"], 0, "{name}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains("tar archive"), "{err}");
    }
}

#[test]
fn millisecond_times_are_read_as_milliseconds() {
    // 13-digit epochs, as CloudWatch Logs exports carry: in the default
    // format (the parser's fast path), in a custom one, and in NODATA.
    let ms = "2 123456789010 eni-0a1b2c3d 10.0.1.5 10.0.2.20 40000 5432 6 3 100 1763613900000 1763613960123 ACCEPT OK\n";
    let custom = "interface-id srcaddr dstaddr srcport dstport protocol bytes start end action\n\
                  eni-0a1b2c3d 10.0.1.5 10.0.2.20 40000 5432 6 100 1763613900000 1763613960999 ACCEPT\n";
    let nodata = "2 123456789010 eni-0a1b2c3d - - - - - - - 1763613900000 1763613960000 - NODATA\n";
    for text in [ms, custom, nodata] {
        let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let w = &json(&out)["window"];
        assert_eq!(w["start"], 1_763_613_900, "{text}: {w}");
        assert_eq!(w["end"], 1_763_613_960, "{text}: {w}");
    }
    // Seconds are left alone.
    let out = run_stdin(&["summarize", "-o", "json", "-"], records(1).as_bytes());
    assert_eq!(json(&out)["window"]["start"], 1_700_000_000);
}

#[test]
fn a_format_without_addresses_or_protocol_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = "interface-id bytes action\neni-0a1b2c3d 100 ACCEPT\n";
    let p = write(dir.path(), "noaddr.log", text.as_bytes());
    let (doc, out) = summarize(&[&p]);
    assert_eq!(doc["input"]["records"], 1);
    let err = stderr(&out);
    assert!(
        err.contains("noaddr.log: the format has no srcaddr, dstaddr, protocol column"),
        "{err}"
    );
    // The default format has them all: nothing said.
    let p = write(dir.path(), "full.log", records(2).as_bytes());
    let (_, out) = summarize(&[&p]);
    assert!(
        !stderr(&out).contains("the format has no"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_header_naming_a_field_twice_is_reported_as_such() {
    let text = "version srcaddr srcaddr dstaddr\n2 10.0.0.1 10.0.0.2 10.0.0.3\n";
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    no_panic(&out);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(doc["input"]["skipped"]["bad_header"], 1, "{}", doc["input"]);
    assert_eq!(doc["input"]["headers"], 1);
    let err = stderr(&out);
    assert!(err.contains("names field 'srcaddr' twice"), "{err}");
}

#[test]
fn gzip_with_trailing_zero_padding_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = gz(format!("{HEADER}{}", records(50)).as_bytes());
    data.extend_from_slice(&[0u8; 4096]);
    let p = write(dir.path(), "padded.log.gz", &data);
    // Inflated whole (a small file) and streamed (standard input).
    let (doc, out) = summarize(&[&p]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 50);
    let out = run_stdin(&["summarize", "-o", "json", "-"], &data);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["input"]["records"], 50);
    // Anything else after the zeros is still damage.
    data.extend_from_slice(b"junk");
    let out = run_stdin(&["summarize", "-o", "json", "-"], &data);
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["input"]["records"], 50);
}

#[test]
fn cr_only_line_endings_are_lines() {
    let text = format!("{HEADER}{}", records(30)).replace('\n', "\r");
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["input"]["records"], 30);
    assert_eq!(json(&out)["input"]["headers"], 1);
    assert!(stderr(&out).contains("carriage return"), "{}", stderr(&out));
}

#[test]
fn control_characters_from_the_input_are_escaped_in_messages() {
    let text = format!(
        "{}2 1 eni-0a 10.0.0.\x1b]0;pwned\x07 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK\n",
        records(1)
    );
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    let err = stderr(&out);
    assert!(err.contains("bad_address"), "{err}");
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains("\\u{1b}]0;pwned"), "{err}");
}

#[test]
fn an_input_none_of_whose_lines_parses_fails_and_says_what_it_looks_like() {
    let dir = tempfile::tempdir().unwrap();
    let json_log = write(
        dir.path(),
        "flows.json",
        b"{\"version\": 2, \"srcaddr\": \"10.0.0.1\"}\n{\"version\": 2}\n",
    );
    let cw: String = (0..3)
        .map(|i| format!("2019-11-20T00:00:0{i}.000Z {}", rec(i)))
        .collect();
    let cw_log = write(dir.path(), "cw.log", cw.as_bytes());
    let good = write(dir.path(), "good.log", records(2).as_bytes());
    // JSON that is no CloudWatch Logs output (tests/cloudwatch.rs).
    let (doc, out) = summarize(&[&json_log, &good]);
    assert_eq!(code(&out), 1);
    assert_eq!(doc["input"]["files_failed"], 1);
    assert_eq!(doc["input"]["records"], 2);
    let err = stderr(&out);
    assert!(
        err.contains("flows.json: read as CloudWatch Logs JSON"),
        "{err}"
    );
    assert!(err.contains("looks like JSON"), "{err}");
    // A CloudWatch Logs export is read (issue 21), its times cut off.
    let (doc, out) = summarize(&[&cw_log, &good]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 5);
    // A file of NODATA records parses; an empty one is not damage.
    let nodata = write(
        dir.path(),
        "nodata.log",
        b"2 1 eni-0a - - - - - - - 1 2 - NODATA\n",
    );
    let empty = write(dir.path(), "empty.log", b"");
    let (_, out) = summarize(&[&nodata, &empty]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_misspelt_format_field_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "a.log", records(2).as_bytes());
    let out = run(&[
        "summarize",
        "--format",
        "${version} ${acount-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}",
        &p,
    ]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("did you mean 'account-id'?"), "{err}");
    // A name that is not a field at all.
    let out = run(&["summarize", "--format", "${srcaddr} ${x}", &p]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("'x' is not a flow-log field"));
    // A plausible future field is read, with a warning.
    let out = run_stdin(
        &[
            "summarize",
            "-o",
            "json",
            "--format",
            "${interface-id} ${srcaddr} ${dstaddr} ${protocol} ${next-hop-id} ${bytes}",
            "-",
        ],
        b"eni-0a 10.0.0.1 10.0.0.2 6 x 100\n",
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["input"]["records"], 1);
    assert!(stderr(&out).contains("'next-hop-id' is not a field flowscope knows"));
}
