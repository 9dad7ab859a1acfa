//! One vocabulary across commands (issue 17): the time window on every
//! command that reads logs, the same row-limit flag, --output-file on
//! query, colour, plurals, help examples, completions and the man page.

use crate::util::{json, run, stderr, stdout, sum_flows, write};

const LOGS: &str = "sample-logs/retail-store";

/// summarize and recommend take --since/--until (they did not); records
/// outside are counted in `input.filtered`, not lost: rows + filtered =
/// records read.
#[test]
fn summarize_and_recommend_take_the_time_window() {
    let all = run(&["summarize", "-o", "json", LOGS]);
    let all = json(&all);
    let out = run(&[
        "summarize",
        "-o",
        "json",
        "--since",
        "2025-11-20T01:00:00Z",
        "--until",
        "2025-11-20T03:00:00+01:00",
        LOGS,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    let input = &doc["input"];
    // Files named (by their delivery time) far outside the window are
    // not read at all (source::layout), the rest are.
    let (read, total) = (input["records"].as_u64(), all["input"]["records"].as_u64());
    assert!(read > Some(0) && read < total, "{read:?} of {total:?}");
    assert!(stderr(&out).contains("left unread by the dates in their names"));
    let filtered = input["filtered"]["records"].as_u64().unwrap();
    assert!(filtered > 0 && filtered < input["records"].as_u64().unwrap());
    assert_eq!(
        sum_flows(&doc) + filtered,
        input["records"].as_u64().unwrap()
    );
    // 03:00+01:00 is 02:00Z: every row lies in the overlapping window.
    for r in doc["rows"].as_array().unwrap() {
        assert!(r["last_seen"].as_u64().unwrap() >= 1_763_600_400);
        assert!(r["first_seen"].as_u64().unwrap() <= 1_763_604_000);
    }
    let table = run(&[
        "summarize",
        "--since",
        "2025-11-20T01:00:00Z",
        "--until",
        "2025-11-20T03:00:00+01:00",
        LOGS,
    ]);
    let t = stdout(&table);
    assert!(
        t.contains(&format!(
            "({} outside --since/--until)",
            thousands(filtered)
        )),
        "{t}"
    );

    let out = run(&[
        "recommend",
        "-o",
        "json",
        "--until",
        "2025-11-20T00:30:00Z",
        LOGS,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = json(&out);
    assert!(doc["input"]["filtered"]["records"].as_u64().unwrap() > 0);
    assert!(doc["window"]["end"].as_u64().unwrap() < 1_763_596_800 + 3600);
}

fn thousands(n: u64) -> String {
    flowscope::report::thousands(n)
}

/// Issue 16: `--until 2025-11-20` meant midnight, so a day's window was
/// empty; a date alone as --until is the end of that day. Milliseconds
/// were taken as seconds.
#[test]
fn a_date_as_until_is_the_whole_day_and_milliseconds_are_read() {
    let day = run(&[
        "summarize",
        "-o",
        "json",
        "--since",
        "2025-11-20",
        "--until",
        "2025-11-20",
        LOGS,
    ]);
    let doc = json(&day);
    assert_eq!(doc["input"]["filtered"]["records"], 0, "{}", stderr(&day));
    assert!(sum_flows(&doc) > 0);
    let q = run(&[
        "query",
        "-o",
        "csv",
        "-n",
        "3",
        "--since",
        "1763596800000",
        "--until",
        "2025-11-20",
        LOGS,
    ]);
    assert!(q.status.success(), "{}", stderr(&q));
    assert_eq!(stdout(&q).lines().count(), 4, "{}", stdout(&q));
    let bad = run(&["top", "--by", "src", "--since", "176359680000", LOGS]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("neither epoch seconds"));
}

/// `-n/--limit` everywhere, the old `--top` kept.
#[test]
fn one_row_limit_flag() {
    for args in [
        vec!["summarize", "-o", "csv", "-n", "3", LOGS],
        vec!["summarize", "-o", "csv", "--limit", "3", LOGS],
        vec!["summarize", "-o", "csv", "--top", "3", LOGS],
        vec!["top", "--by", "src", "-o", "csv", "--limit", "3", LOGS],
        vec!["top", "--by", "src", "-o", "csv", "--top", "3", LOGS],
        vec!["query", "-o", "csv", "-n", "3", LOGS],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out).lines().count(), 4, "{args:?}");
    }
}

/// query had no --output-file.
#[test]
fn query_writes_to_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("q.csv");
    for sort in [false, true] {
        let mut args = vec!["query", "-o", "csv", "--dport", "443", "--output-file"];
        args.push(f.to_str().unwrap());
        if sort {
            args.extend(["--sort", "start"]);
        }
        args.push(LOGS);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("file,line,"), "{text}");
        assert!(text.lines().count() > 100);
    }
}

/// --color: always colours even into a pipe, auto and never do not.
#[test]
fn color_choice() {
    let esc = |args: &[&str]| stdout(&run(args)).contains('\x1b');
    assert!(esc(&["summarize", "--color", "always", LOGS]));
    assert!(esc(&["--color", "always", "top", "--by", "dst", LOGS]));
    assert!(!esc(&["summarize", "--color", "never", LOGS]));
    assert!(!esc(&["summarize", LOGS]));
}

/// "1 interface", not "1 interfaces".
#[test]
fn plurals() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "one.log",
        b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 100 1 2 ACCEPT OK\n",
    );
    let t = stdout(&run(&["summarize", &log]));
    assert!(
        t.contains(
            "Total: 1 flow (1 accepted, 0 rejected), 1 packet, 100 B in 1 row over 1 interface\n"
        ),
        "{t}"
    );
    let t = stdout(&run(&["top", "--by", "dst", &log]));
    assert!(t.contains("Top 1 of 1 destination by flows"), "{t}");
}

/// `summarize --help` and `recommend --help` ran their examples together
/// into one paragraph.
#[test]
fn help_examples_one_per_line() {
    for (cmd, first) in [
        (
            "summarize",
            "  flowscope summarize sample-logs/retail-store\n",
        ),
        (
            "recommend",
            "  flowscope recommend sample-logs/retail-store\n",
        ),
    ] {
        let h = stdout(&run(&[cmd, "--help"]));
        assert!(
            h.contains(&format!("Examples:\n{first}  flowscope {cmd} ")),
            "{h}"
        );
    }
    let h = stdout(&run(&["summarize", "--help"]));
    assert!(h.contains("END of that day"), "{h}");
}

/// Completions and the man page come from the clap definitions.
#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let s = stdout(&out);
        assert!(
            s.contains("summarize") && s.contains("output-file"),
            "{shell}"
        );
    }
    let out = run(&["man"]);
    assert!(out.status.success());
    let m = stdout(&out);
    assert!(m.starts_with(".ie") || m.contains(".TH flowscope"), "{m}");
    assert!(m.contains("summarize"));
    let bad = run(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// generate --start takes the same time forms.
#[test]
fn generate_start_takes_time_forms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&[
        "generate",
        "--out",
        d,
        "--records",
        "200",
        "--files",
        "1",
        "--hours",
        "1",
        "--start",
        "2025-11-21T00:00:00+01:00",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["window_start"], 1_763_679_600);
}

/// A window that leaves out every record (a relative `--since 7d` over
/// last year's logs) is said on stderr, not only as a count in the Input
/// line: an empty report with exit 0 reads as "no traffic".
#[test]
fn a_window_that_leaves_out_every_record_is_said() {
    for cmd in ["summarize", "recommend"] {
        let out = run(&[
            cmd,
            "-o",
            "json",
            "--since",
            "7d",
            "sample-logs/retail-store",
        ]);
        let err = stderr(&out);
        // The sample's files are named by date: none is read.
        assert!(
            err.contains("every input is outside --since/--until") && out.status.success(),
            "{cmd}: {err}"
        );
    }
    // A file named on the command line is read, and its records left out.
    let one = "sample-logs/retail-store/AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20/\
               123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20251120T0015Z_bd7d7384.log.gz";
    let out = run(&["summarize", "-o", "json", "--since", "7d", one]);
    let err = stderr(&out);
    assert!(
        err.contains("records read are outside --since/--until"),
        "{err}"
    );
    let out = run(&[
        "summarize",
        "-o",
        "json",
        "--since",
        "2025-11-20T03:00:00Z",
        "sample-logs/retail-store",
    ]);
    assert!(!stderr(&out).contains("outside --since/--until"));
}
