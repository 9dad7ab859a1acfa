//! Damaged and hostile input: every line accounted for, clear messages
//! naming the file and line or byte offset, the right exit status, and
//! never a panic.

use std::io::Write;
use std::process::Output;

use crate::util::*;

pub(crate) const HEADER: &str =
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";

pub(crate) fn rec(i: usize) -> String {
    format!(
        "2 123456789010 eni-0a1b2c3d 10.0.1.{} 10.0.2.20 {} 5432 6 3 {} 1700000000 1700000060 ACCEPT OK\n",
        i % 250 + 1,
        40000 + i % 20000,
        100 + i
    )
}

/// `n` distinct default-format records of one interface (also used by tests/inputs.rs).
pub(crate) fn records(n: usize) -> String {
    (0..n).map(rec).collect()
}

pub(crate) fn summarize(args: &[&str]) -> (serde_json::Value, Output) {
    let mut a = vec!["summarize", "-o", "json"];
    a.extend_from_slice(args);
    let out = run(&a);
    no_panic(&out);
    (json(&out), out)
}

pub(crate) fn no_panic(out: &Output) {
    let e = stderr(out);
    assert!(
        !e.contains("panicked") && out.status.code().is_some(),
        "crashed: {:?} {e}",
        out.status
    );
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn skipped(input: &serde_json::Value, reason: &str) -> u64 {
    input["skipped"][reason].as_u64().unwrap_or(0)
}

#[test]
fn truncated_gzip_at_every_twentieth_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{HEADER}{}", records(30_000));
    let data = gz(text.as_bytes());
    let len = data.len();
    for k in 0..20 {
        let cut = len * k / 20;
        let name = format!("cut{k:02}.log.gz");
        let path = write(dir.path(), &name, &data[..cut]);
        for threads in ["1", "2"] {
            let (doc, out) = summarize(&["--threads", threads, &path]);
            let input = &doc["input"];
            assert_balanced(input);
            let err = stderr(&out);
            if cut == 0 {
                // An empty file is not damage: nothing to read.
                assert_eq!(code(&out), 0, "{err}");
                assert_eq!(input["lines"], 0);
                continue;
            }
            assert_eq!(code(&out), 1, "cut at {cut}: {err}");
            assert_eq!(input["files_failed"], 1);
            assert!(
                err.contains(&name) && err.contains("compressed byte offset"),
                "cut at {cut}: {err}"
            );
            // Exactly the whole lines inflated before the damage count; a
            // line cut in half is dropped as `truncated_line`, never parsed.
            let inflated = input["bytes_decompressed"].as_u64().unwrap() as usize;
            let prefix = &text.as_bytes()[..inflated];
            let whole = prefix.iter().filter(|&&b| b == b'\n').count() as u64;
            let headers = input["headers"].as_u64().unwrap();
            assert_eq!(headers, u64::from(whole > 0), "cut at {cut}");
            assert_eq!(
                input["records"].as_u64().unwrap(),
                whole - headers,
                "cut at {cut}"
            );
            let partial = u64::from(prefix.last().is_some_and(|&b| b != b'\n'));
            assert_eq!(skipped(input, "truncated_line"), partial, "cut at {cut}");
            assert_eq!(input["lines"].as_u64().unwrap(), whole + partial);
            assert_eq!(sum_flows(&doc), whole - headers);
        }
    }
}

#[test]
fn gzip_member_followed_by_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = gz(format!("{HEADER}{}", records(100)).as_bytes());
    let member = data.len();
    data.extend_from_slice(b"this is not gzip at all\n");
    let p = write(dir.path(), "tail.log.gz", &data);
    let (doc, out) = summarize(&[&p]);
    assert_eq!(code(&out), 1);
    assert_eq!(doc["input"]["records"], 100);
    assert_balanced(&doc["input"]);
    let err = stderr(&out);
    assert!(err.contains("tail.log.gz"), "{err}");
    assert!(err.contains("compressed byte offset"), "{err}");
    // The offset named is at or past the end of the good member.
    let off: u64 = err
        .split("compressed byte offset ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(off >= member as u64, "{off} < {member}: {err}");
}

#[test]
fn zero_byte_files_and_misnamed_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "empty.log", b"");
    write(d, "empty.log.gz", b"");
    // Plain text named .gz, gzip named .log: content decides.
    write(
        d,
        "plain.log.gz",
        format!("{HEADER}{}", records(7)).as_bytes(),
    );
    write(d, "zipped.log", &gz(records(5).as_bytes()));
    let (doc, out) = summarize(&[d.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let input = &doc["input"];
    assert_eq!(input["files"], 4);
    assert_eq!(input["records"], 12);
    assert_eq!(input["headers"], 1);
    assert_eq!(input["lines"], 13);
    assert_balanced(input);
}

#[test]
fn random_bytes_named_gz_are_lines_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut junk = Vec::new();
    let mut x: u32 = 12345;
    for _ in 0..100_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        junk.push((x >> 16) as u8);
    }
    let p = write(dir.path(), "junk.log.gz", &junk);
    let (doc, out) = summarize(&[&p]);
    // Read as lines, none of which is a record: the file failed.
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 0);
    assert_eq!(doc["input"]["files_failed"], 1);
    assert!(stderr(&out).contains("junk.log.gz: no line is a flow-log record"));
    assert_balanced(&doc["input"]);
    // A gzip header and then garbage.
    let mut bad = gz(b"x");
    bad.truncate(10);
    bad.extend_from_slice(&junk[..1000]);
    let p = write(dir.path(), "badgz.log", &bad);
    let (doc, out) = summarize(&[&p]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("badgz.log"));
    assert_balanced(&doc["input"]);
}

#[test]
fn crlf_line_endings() {
    let text = format!("{HEADER}{}", records(10)).replace('\n', "\r\n");
    let out = run_stdin(
        &["summarize", "-o", "json", "--strict", "-"],
        text.as_bytes(),
    );
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["input"]["headers"], 1);
    assert_eq!(doc["input"]["records"], 10);
}

#[test]
fn header_in_the_middle_switches_format() {
    // Two files concatenated: v2 default, then a custom v5 order.
    let custom =
        "interface-id srcaddr dstaddr srcport dstport protocol bytes action flow-direction\n";
    let mut text = format!("{HEADER}{}", records(3));
    text.push_str(custom);
    text.push_str("eni-0fff 10.0.9.9 10.0.1.1 50000 443 6 777 ACCEPT ingress\n");
    text.push_str("eni-0fff 10.0.1.1 10.0.9.9 443 50000 6 999 ACCEPT egress\n");
    let dir = tempfile::tempdir().unwrap();
    // Plain, and as two gzip members.
    let p1 = write(dir.path(), "cat.log", text.as_bytes());
    let split = text.find(custom).unwrap();
    let mut two = gz(&text.as_bytes()[..split]);
    two.extend(gz(&text.as_bytes()[split..]));
    let p2 = write(dir.path(), "cat2.log.gz", &two);
    for p in [p1, p2] {
        let (doc, out) = summarize(&["--strict", &p]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let input = &doc["input"];
        assert_eq!(
            (input["headers"].as_u64(), input["records"].as_u64()),
            (Some(2), Some(5))
        );
        let row = doc["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["interface_id"] == "eni-0fff")
            .expect("second format parsed with its own columns")
            .clone();
        assert_eq!(row["port"], 443);
        assert_eq!(row["bytes"], 777 + 999);
        assert_eq!(row["direction"], "ingress");
    }
}

#[test]
fn lines_of_a_megabyte() {
    let mut text = records(2).into_bytes();
    text.extend(std::iter::repeat_n(b'7', 1_000_000));
    text.push(b'\n');
    text.extend(rec(2).as_bytes());
    text.extend(std::iter::repeat_n(b'x', 3 << 20));
    text.push(b'\n');
    text.extend(rec(3).as_bytes());
    // And a huge last line without a newline.
    text.extend(std::iter::repeat_n(b'y', 1 << 20));
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "long.log", &text);
    let pz = write(dir.path(), "long.log.gz", &gz(&text));
    for p in [p, pz] {
        for threads in ["1", "2"] {
            let (doc, out) = summarize(&["--threads", threads, &p]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let input = &doc["input"];
            assert_eq!(input["records"], 4);
            assert_eq!(input["lines"], 7);
            assert_eq!(skipped(input, "line_too_long"), 3, "{input}");
            assert_balanced(input);
            let err = stderr(&out);
            assert!(
                err.contains("long.log") && err.contains(":3: skipped (line_too_long)"),
                "{err}"
            );
        }
    }
}

#[test]
fn non_utf8_bytes() {
    let mut text = records(2).into_bytes();
    text.extend(b"2 123456789010 eni-\xff\xfe 10.0.1.1 10.0.2.2 1 2 6 1 1 1 2 ACCEPT OK\n");
    text.extend(b"\xc3\x28\x00\x01\n");
    text.extend(rec(5).as_bytes());
    let out = run_stdin(&["summarize", "-o", "json", "-"], &text);
    no_panic(&out);
    let doc = json(&out);
    assert_eq!(code(&out), 0);
    assert_eq!(doc["input"]["records"], 3);
    assert_eq!(skipped(&doc["input"], "invalid_utf8"), 2);
    assert!(stderr(&out).contains("<stdin>:3: skipped (invalid_utf8)"));
    let out = run_stdin(&["summarize", "-o", "json", "--strict", "-"], &text);
    assert_eq!(code(&out), 1);
}

#[test]
fn odd_ipv6_forms() {
    let lines = [
        // IPv4-mapped: the same host as 1.2.3.4.
        "2 1 eni-0a ::ffff:1.2.3.4 10.0.0.1 50000 443 6 1 10 1 2 ACCEPT OK",
        // Upper case.
        "2 1 eni-0a 2001:DB8::1 2001:db8::2 50000 443 6 1 10 1 2 ACCEPT OK",
        // Zone ids are not addresses a flow log carries: bad_address.
        "2 1 eni-0a fe80::1%eth0 fe80::2 50000 443 6 1 10 1 2 ACCEPT OK",
        "2 1 eni-0a 2001:db8:::1 fe80::2 50000 443 6 1 10 1 2 ACCEPT OK",
        "2 1 eni-0a [2001:db8::1] fe80::2 50000 443 6 1 10 1 2 ACCEPT OK",
        "2 1 eni-0a 1:2:3:4:5:6:7:8:9 fe80::2 50000 443 6 1 10 1 2 ACCEPT OK",
        "2 1 eni-0a :: ::1 50000 443 6 1 10 1 2 ACCEPT OK",
    ];
    let text = lines.join("\n");
    let out = run_stdin(&["query", "--addr", "1.2.3.4", "-"], text.as_bytes());
    no_panic(&out);
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    no_panic(&out);
    let doc = json(&out);
    assert_eq!(doc["input"]["records"], 3);
    assert_eq!(skipped(&doc["input"], "bad_address"), 4);
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>:3: skipped (bad_address): field 'srcaddr' = \"fe80::1%eth0\""),
        "{err}"
    );
}

#[test]
fn numbers_ports_protocols_and_times_out_of_range() {
    let lines = [
        // bytes past u64
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 18446744073709551616 1 2 ACCEPT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 99999999999999999999999 1 2 ACCEPT OK",
        // ports past 65535
        "2 1 eni-0a 10.0.0.1 10.0.0.2 65536 443 6 1 10 1 2 ACCEPT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 4294967296 6 1 10 1 2 ACCEPT OK",
        // protocol 256
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 256 1 10 1 2 ACCEPT OK",
        // valid edge values: protocol 255, port 65535 and 0, u64::MAX
        // counters and times, start after end
        "2 1 eni-0a 10.0.0.1 10.0.0.2 65535 0 255 18446744073709551615 18446744073709551615 18446744073709551615 18446744073709551615 ACCEPT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 18446744073709551615 18446744073709551615 1700000100 1700000000 ACCEPT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 10 0 0 REJECT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 10 0 18446744073709551615 REJECT OK",
        "2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 17 1 10 1700000100 1699999000 ACCEPT OK",
    ];
    let text = lines.join("\n") + "\n";
    let out = run_stdin(&["summarize", "-o", "json", "-"], text.as_bytes());
    no_panic(&out);
    let doc = json(&out);
    let input = &doc["input"];
    assert_eq!(input["records"], 5);
    assert_eq!(skipped(input, "bad_number"), 2, "{input}");
    assert_eq!(skipped(input, "bad_port"), 2, "{input}");
    assert_eq!(skipped(input, "bad_protocol"), 1, "{input}");
    // A record whose start is after its end spans [end, start]: every
    // row's span, first to last, as the records give it.
    let spans: Vec<(u64, &str, u64, u64)> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["protocol"].as_u64().unwrap(),
                r["action"].as_str().unwrap(),
                r["first_seen"].as_u64().unwrap(),
                r["last_seen"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            (6, "ACCEPT", 1700000000, 1700000100),
            (6, "REJECT", 0, u64::MAX),
            (17, "ACCEPT", 1699999000, 1700000100),
            (255, "ACCEPT", u64::MAX, u64::MAX),
        ]
    );
    let err = stderr(&out);
    assert!(
        err.contains("<stdin>:3: skipped (bad_port): field 'srcport' = \"65536\""),
        "{err}"
    );
    // Sums past u64 saturate or widen, never wrap into a panic; every
    // command and output survives these records.
    let cmds: &[&[&str]] = &[
        &["summarize", "-o", "table", "-"],
        &["summarize", "-o", "csv", "-"],
        &["query", "-"],
        &["query", "--bucket", "1m", "-"],
        &["query", "--bucket", "1s", "-"],
        &["query", "-o", "json", "-"],
        &["top", "--by", "src", "-"],
        &[
            "top", "--by", "pair", "--metric", "bytes", "--bucket", "1h", "-",
        ],
        &["top", "--by", "port", "-o", "json", "-"],
        &["scans", "-"],
        &["scans", "-o", "json", "-"],
    ];
    for c in cmds {
        let out = run_stdin(c, text.as_bytes());
        no_panic(&out);
        assert!(code(&out) <= 1, "{c:?}: {}", stderr(&out));
    }
}

#[test]
fn start_after_end_in_recommend_window() {
    // The window printed by recommend used end - start, which underflowed.
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("sample-logs/retail-store");
    for f in ["security-groups.json", "network-interfaces.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    write(
        dir.path(),
        "logs/a.log",
        b"2 1 eni-0a 10.0.0.1 10.0.0.2 50000 443 6 1 10 1700000100 1700000000 ACCEPT OK\n",
    );
    let out = run(&["recommend", dir.path().to_str().unwrap()]);
    no_panic(&out);
    assert!(code(&out) <= 1, "{}", stderr(&out));
}

#[test]
fn many_tiny_files() {
    // 20,000 files (100,000 took over 10 s in a debug build on 2 cores);
    // each holds one record, one NODATA or is empty.
    const N: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    for i in 0..N {
        let sub = dir.path().join(format!("d{:03}", i % 100));
        if i < 100 {
            std::fs::create_dir(&sub).unwrap();
        }
        let body = match i % 3 {
            0 => rec(i),
            1 => "2 1 eni-0a - - - - - - - 1 2 - NODATA\n".to_string(),
            _ => String::new(),
        };
        std::fs::write(sub.join(format!("f{i}.log")), body).unwrap();
    }
    let made = start.elapsed();
    let start = std::time::Instant::now();
    let (doc, out) = summarize(&[dir.path().to_str().unwrap()]);
    let took = start.elapsed();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let input = &doc["input"];
    assert_eq!(input["files"], N as u64);
    assert_eq!(input["records"], N.div_ceil(3) as u64);
    assert_eq!(input["nodata"], ((N + 1) / 3) as u64);
    assert_balanced(input);
    assert!(
        took.as_secs() < 30,
        "{N} files took {took:?} (writing them {made:?})"
    );
}

#[test]
fn symlink_loops_in_a_directory_walk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a/x.log", records(2).as_bytes());
    std::os::unix::fs::symlink(d, d.join("a/up")).unwrap();
    std::os::unix::fs::symlink(d.join("a"), d.join("a/self")).unwrap();
    // Two links pointing at each other: neither resolves.
    std::os::unix::fs::symlink(d.join("l2.log"), d.join("l1.log")).unwrap();
    std::os::unix::fs::symlink(d.join("l1.log"), d.join("l2.log")).unwrap();
    let (doc, out) = summarize(&[d.to_str().unwrap()]);
    // The looping links are reported (exit 1) and counted as failed
    // inputs; the real file is read once.
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(doc["input"]["records"], 2);
    assert_eq!(doc["input"]["files"], 3);
    assert_eq!(doc["input"]["files_failed"], 2);
    let err = stderr(&out);
    assert!(err.contains("l1.log") && err.contains("l2.log"), "{err}");
}

#[test]
fn unreadable_files_and_odd_paths() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "good.log", records(3).as_bytes());
    let locked = write(d, "locked.log", records(4).as_bytes());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    write(d, "closed/inner.log", records(5).as_bytes());
    std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // A dangling symlink, and a FIFO named like a log (opening it would
    // block for ever with no writer).
    std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling.log")).unwrap();
    let fifo = d.join("pipe.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Root reads whatever the mode says (CI runs as root).
    let privileged = std::fs::read(&locked).is_ok();

    let start = std::time::Instant::now();
    let (doc, out) = summarize(&[d.to_str().unwrap()]);
    assert!(start.elapsed().as_secs() < 20, "hung on the FIFO?");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("dangling.log"), "{err}");
    assert!(err.contains("pipe.log: not a regular file"), "{err}");
    let input = &doc["input"];
    assert_balanced(input);
    if privileged {
        assert_eq!(input["records"], 3 + 4 + 5);
        // The dangling link and the FIFO.
        assert_eq!(input["files_failed"], 2);
    } else {
        assert_eq!(input["records"], 3);
        assert!(err.contains("locked.log: cannot open"), "{err}");
        assert!(err.contains("closed: cannot read directory"), "{err}");
        // The locked file, the closed directory, the link and the FIFO.
        assert_eq!(input["files_failed"], 4);
    }

    // Paths given by name: a missing one, a dangling link, next to a good
    // file: the good one is read, exit 1.
    let good = d.join("good.log");
    let (doc, out) = summarize(&[
        good.to_str().unwrap(),
        d.join("missing.log").to_str().unwrap(),
        d.join("dangling.log").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert_eq!(doc["input"]["records"], 3);
    // Nothing readable at all: usage error, exit 2.
    let out = run(&["summarize", d.join("dangling.log").to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 2);
    // A FIFO given by name is read (process substitution works).
    let child = std::process::Command::new(bin())
        .args(["summarize", "-o", "json", fifo.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(records(6).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(json(&out)["input"]["records"], 6);
    std::fs::set_permissions(d.join("closed"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn ctrl_c_stops_promptly_with_partial_accounting() {
    // Endless input on stdin, so the run is still busy reading when the
    // signal comes however fast the parser is (a 110 MB file was once
    // "far more than can be read in 200 ms"; it no longer was).
    let block = records(10_000);
    for threads in ["1", "2"] {
        let mut child = std::process::Command::new(bin())
            .args(["summarize", "--threads", threads, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = block.clone();
        // Writes until the reader goes away (a broken pipe ends it).
        let writer = std::thread::spawn(move || {
            let mut written = 0u64;
            while stdin.write_all(data.as_bytes()).is_ok() {
                written += 10_000;
            }
            written
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        let sent = std::time::Instant::now();
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        let took = sent.elapsed();
        let written = writer.join().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(took.as_secs_f64() < 2.0, "took {took:?} to stop");
        let line = err
            .lines()
            .find(|l| l.starts_with("flowscope: interrupted: "))
            .unwrap_or_else(|| panic!("no interrupted line: {err}"));
        assert!(line.contains(" records"), "{line}");
        assert!(!err.contains("panicked"), "{err}");
        // Partial: some records read, at most what was written.
        let n: u64 = line
            .split(", ")
            .find(|p| p.ends_with(" records"))
            .and_then(|p| p.trim_end_matches(" records").replace(',', "").parse().ok())
            .unwrap();
        assert!(n > 0 && n <= written + 10_000, "{line} (written {written})");
    }
}

#[test]
fn gzip_read_whole_and_streamed_agree() {
    // Small gzip files are inflated whole with libdeflate; anything it
    // refuses is streamed instead, and FLOWSCOPE_NO_LIBDEFLATE streams
    // everything. Both ways must give the same bytes on stdout and stderr:
    // one member, concatenated objects (a header line inside the file,
    // the first member larger than the last), a long line, a cut file,
    // trailing garbage, and plain text.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body = format!("{HEADER}{}", records(3000));
    write(d, "one.log.gz", &gz(body.as_bytes()));
    let mut two = gz(body.as_bytes());
    two.extend_from_slice(&gz(format!("{HEADER}{}", records(7)).as_bytes()));
    write(d, "two.log.gz", &two);
    let long = format!(
        "{HEADER}{}{}\n{}",
        records(5),
        "9".repeat(70_000),
        records(5)
    );
    write(d, "long.log.gz", &gz(long.as_bytes()));
    let full = gz(body.as_bytes());
    write(d, "cut.log.gz", &full[..full.len() * 2 / 3]);
    let mut tail = gz(body.as_bytes());
    tail.extend_from_slice(b"garbage after the member\n");
    write(d, "tail.log.gz", &tail);
    write(d, "plain.log", body.as_bytes());
    for threads in ["1", "2"] {
        let args = [
            "summarize",
            "-o",
            "json",
            "-j",
            threads,
            d.to_str().unwrap(),
        ];
        let whole = run(&args);
        let streamed = std::process::Command::new(bin())
            .args(args)
            .env("FLOWSCOPE_NO_LIBDEFLATE", "1")
            .output()
            .expect("run flowscope");
        no_panic(&whole);
        assert_eq!(code(&whole), code(&streamed));
        assert_eq!(stdout(&whole), stdout(&streamed));
        assert_eq!(stderr(&whole), stderr(&streamed));
        let doc = json(&whole);
        assert_balanced(&doc["input"]);
        assert_eq!(doc["input"]["files"], 6);
        assert!(stderr(&whole).contains("cut.log.gz"), "{}", stderr(&whole));
    }
}
