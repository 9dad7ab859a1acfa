//! `s3://` inputs against a real S3-compatible server on 127.0.0.1: moto's
//! server mode (PyPI `moto[server]`), the sample uploaded with the AWS CLI
//! (PyPI `awscli`) as a user would. moto rather than MinIO: it installs
//! from PyPI (MinIO is a binary download, which CI cannot fetch), speaks
//! S3's XML errors and codes (NoSuchBucket, InvalidObjectState for
//! archived objects) and pages ListObjectsV2 at 1,000 keys. `.ci/run`
//! installs both; without them the tests skip, unless `CI` is set.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

use crate::moto::{moto, Moto as Server};
use crate::util::{bin, json, repo, stderr, write};

const SAMPLE: &str = "sample-logs/retail-store";
const BUCKET: &str = "flowlogs";
const DAY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/20";

/// The server of tests/moto.rs, its bucket loaded once; None (test
/// skipped) when moto or the AWS CLI is not installed and CI is not set.
fn server() -> Option<&'static Server> {
    static LOADED: OnceLock<()> = OnceLock::new();
    let s = moto()?;
    LOADED.get_or_init(|| load(s));
    Some(s)
}

impl Server {
    fn aws(&self, args: &[&str]) {
        let out = self.cmd(Path::new("aws")).args(args).output().expect("aws");
        assert!(out.status.success(), "aws {args:?}: {}", stderr(&out));
    }

    fn flowscope(&self, args: &[&str]) -> Output {
        self.cmd(bin()).args(args).output().expect("flowscope")
    }

    /// flowscope with FLOWSCOPE_DEBUG=s3: (output, GETs made).
    fn counted(&self, args: &[&str]) -> (Output, u64) {
        let out = self
            .cmd(bin())
            .env("FLOWSCOPE_DEBUG", "s3")
            .args(args)
            .output()
            .expect("flowscope");
        let err = stderr(&out);
        let gets = err
            .lines()
            .find_map(|l| l.strip_prefix("flowscope: debug: s3: "))
            .and_then(|l| l.split(" listings, ").nth(1))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no debug line: {err}"));
        (out, gets)
    }
}

/// The bucket: the sample's logs, 1,005 one-record objects under `many/`,
/// an archived object, an object that is not a flow log, and a copy of
/// one file in another day's folder.
fn load(s: &Server) {
    let sample = repo().join(SAMPLE).join("AWSLogs");
    s.aws(&["s3", "mb", &format!("s3://{BUCKET}")]);
    s.aws(&[
        "s3",
        "sync",
        "--only-show-errors",
        sample.to_str().unwrap(),
        &format!("s3://{BUCKET}/AWSLogs"),
    ]);
    let many = s.dir.path().join("many");
    for i in 0..1005u64 {
        let line = format!(
            "2 123456789012 eni-0a 10.0.0.1 10.0.0.2 {} 443 6 1 40 1763596800 1763596860 ACCEPT OK\n",
            1024 + i
        );
        write(&many, &format!("part-{i:05}.log"), line.as_bytes());
    }
    s.aws(&[
        "s3",
        "sync",
        "--only-show-errors",
        many.to_str().unwrap(),
        &format!("s3://{BUCKET}/many"),
    ]);
    let one = first_sample_file();
    let other_day = format!(
        "s3://{BUCKET}/AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/11/18/\
         123456789012_vpcflowlogs_us-east-1_fl-0a1b2c3d4e5f60718_20251118T0100Z_00000000.log.gz"
    );
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        one.to_str().unwrap(),
        &other_day,
    ]);
    // Archived: S3 refuses a GET (InvalidObjectState) until restored.
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        "--storage-class",
        "GLACIER",
        one.to_str().unwrap(),
        &format!("s3://{BUCKET}/bad/archived.log.gz"),
    ]);
    // A public bucket (read without credentials) with one private object.
    s.aws(&[
        "s3api",
        "create-bucket",
        "--bucket",
        "public",
        "--acl",
        "public-read",
    ]);
    for (name, acl) in [
        ("open.log.gz", "public-read"),
        ("private.log.gz", "private"),
    ] {
        let to = format!("s3://public/logs/{name}");
        s.aws(&[
            "s3",
            "cp",
            "--only-show-errors",
            "--acl",
            acl,
            one.to_str().unwrap(),
            &to,
        ]);
    }
    let png = write(
        s.dir.path(),
        "image.log.gz",
        b"\x89PNG\r\n\x1a\n0000000000000000",
    );
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        &png,
        &format!("s3://{BUCKET}/bad/image.log.gz"),
    ]);
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        one.to_str().unwrap(),
        &format!("s3://{BUCKET}/bad/good.log.gz"),
    ]);
}

fn sample_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join(SAMPLE).join(DAY))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn first_sample_file() -> PathBuf {
    sample_files().into_iter().next().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    json(out)
}

#[test]
fn same_json_from_s3_as_from_local_files() {
    let Some(s) = server() else { return };
    let local = repo().join(SAMPLE).join(DAY);
    let url = format!("s3://{BUCKET}/{DAY}/");
    for cmd in [
        vec!["summarize", "-o", "json"],
        vec!["top", "-o", "json", "--by", "src"],
        vec![
            "scans",
            "-o",
            "json",
            "--min-ports",
            "2",
            "--min-targets",
            "2",
        ],
    ] {
        let a = ok_json(&s.flowscope(&[&cmd[..], &[local.to_str().unwrap()]].concat()));
        let b = ok_json(&s.flowscope(&[&cmd[..], &[url.as_str()]].concat()));
        assert!(a == b, "{cmd:?}: the JSON differs");
    }
    // recommend, the sample's inventory
    // in a directory argument of its own (which holds no logs: exit 1).
    let inv = tempfile::tempdir().unwrap();
    for f in [
        "security-groups.json",
        "template.json",
        "network-interfaces.json",
    ] {
        std::fs::copy(repo().join(SAMPLE).join(f), inv.path().join(f)).unwrap();
    }
    let rec = |input: &str| {
        let out = s.flowscope(&[
            "recommend",
            "-o",
            "json",
            inv.path().to_str().unwrap(),
            input,
        ]);
        assert!(
            stderr(&out).contains("no flow-log files"),
            "{}",
            stderr(&out)
        );
        json(&out)
    };
    let (a, b) = (rec(local.to_str().unwrap()), rec(&url));
    assert!(a["recommendations"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
    assert!(a == b, "recommend: the JSON differs");
    // query prints the lines themselves: the same, in the same order.
    let q = |input: &str| {
        s.flowscope(&["query", "--action", "reject", "-j", "1", input])
            .stdout
    };
    let (lq, sq) = (q(local.to_str().unwrap()), q(&url));
    assert!(!lq.is_empty() && lq == sq, "query: the lines differ");
}

#[test]
fn pages_past_1000_keys_and_mixes_with_local_files() {
    let Some(s) = server() else { return };
    let (out, gets) = s.counted(&["summarize", "-o", "json", &format!("s3://{BUCKET}/many")]);
    let doc = ok_json(&out);
    assert_eq!(doc["input"]["files"], 1005);
    assert_eq!(doc["input"]["records"], 1005);
    assert_eq!(gets, 1005);
    // A local file beside the bucket: both read, one report.
    let one = first_sample_file();
    let doc = ok_json(&s.flowscope(&[
        "summarize",
        "-o",
        "json",
        one.to_str().unwrap(),
        &format!("s3://{BUCKET}/many/"),
    ]));
    assert_eq!(doc["input"]["files"], 1006);
}

#[test]
fn failed_objects_are_named_and_the_rest_is_read() {
    let Some(s) = server() else { return };
    let out = s.flowscope(&["summarize", "-o", "json", &format!("s3://{BUCKET}/bad/")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let doc = json(&out);
    assert_eq!(doc["input"]["files"], 3);
    assert_eq!(doc["input"]["files_failed"], 2, "{err}");
    assert!(doc["input"]["records"].as_u64().unwrap() > 0);
    assert!(
        err.contains(&format!("s3://{BUCKET}/bad/archived.log.gz: cannot open"))
            && err.contains("InvalidObjectState"),
        "{err}"
    );
    assert!(
        err.contains(&format!("s3://{BUCKET}/bad/image.log.gz")),
        "{err}"
    );
    // The same as a damaged local file would give.
    let local = tempfile::tempdir().unwrap();
    write(
        local.path(),
        "image.log.gz",
        b"\x89PNG\r\n\x1a\n0000000000000000",
    );
    let l = s.flowscope(&["summarize", "-o", "json", local.path().to_str().unwrap()]);
    let line = |e: &str, name: &str| {
        e.lines()
            .find(|l| l.contains(name))
            .map(|l| l.rsplit(": ").next().unwrap().to_string())
    };
    assert_eq!(
        line(&err, "image.log.gz"),
        line(&stderr(&l), "image.log.gz")
    );
}

#[test]
fn missing_bucket_and_key() {
    let Some(s) = server() else { return };
    let out = s.flowscope(&["summarize", "s3://no-such-bucket/AWSLogs/"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("s3://no-such-bucket/AWSLogs") && err.contains("NoSuchBucket"),
        "{err}"
    );
    // Beside a readable input: reported, counted, exit 1.
    let one = first_sample_file();
    let out = s.flowscope(&[
        "summarize",
        "-o",
        "json",
        "s3://no-such-bucket/x/",
        one.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        (
            doc["input"]["files"].as_u64(),
            doc["input"]["files_failed"].as_u64()
        ),
        (Some(2), Some(1))
    );
    // A key that is not there: nothing under it.
    let out = s.flowscope(&[
        "summarize",
        &format!("s3://{BUCKET}/AWSLogs/nothing.log.gz"),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no objects under this prefix"),
        "{}",
        stderr(&out)
    );
    // One object named by its whole key is read, whatever its name.
    let key = format!("s3://{BUCKET}/many/part-00007.log");
    let doc = ok_json(&s.flowscope(&["summarize", "-o", "json", &key]));
    assert_eq!(doc["input"]["records"], 1);
}

#[test]
fn since_until_fetch_only_the_window() {
    let Some(s) = server() else { return };
    let window = [
        "--since",
        "2025-11-20T02:00:00Z",
        "--until",
        "2025-11-20T03:00:00Z",
    ];
    let url = format!("s3://{BUCKET}/AWSLogs/");
    let (out, gets) =
        s.counted(&[&["summarize", "-o", "json"][..], &window, &[url.as_str()]].concat());
    let pruned = ok_json(&out);
    // Files named 01:50 to 04:00 (10 minutes early, an hour late for
    // late deliveries): the sample's quarter-hours 02:00 … 04:00.
    let expect = sample_files()
        .iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            let t = &n[n.find("T0").unwrap() + 1..][..4];
            ("0150"..="0400").contains(&t)
        })
        .count() as u64;
    assert_eq!(expect, 9);
    assert_eq!(gets, expect, "{}", stderr(&out));
    assert_eq!(pruned["input"]["files"], expect);
    assert!(
        stderr(&out).contains("1 date folders pruned"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("left unread by the dates in their names"));
    // The local copy laid out the same way prunes the same files.
    let local = repo().join(SAMPLE).join("AWSLogs");
    let l = ok_json(
        &s.flowscope(
            &[
                &["summarize", "-o", "json"][..],
                &window,
                &[local.to_str().unwrap()],
            ]
            .concat(),
        ),
    );
    assert!(l == pruned, "pruned: local and S3 differ");
    // And nothing of the window is lost: every file named one by one
    // (never pruned) gives the same rows.
    let files: Vec<String> = sample_files()
        .iter()
        .map(|p| p.to_string_lossy().into())
        .collect();
    let all: Vec<&str> = files.iter().map(String::as_str).collect();
    let full = ok_json(&s.flowscope(&[&["summarize", "-o", "json"][..], &window, &all].concat()));
    assert!(full["rows"] == pruned["rows"], "pruning lost records");
    assert!(full["input"]["files"].as_u64() > pruned["input"]["files"].as_u64());
}

#[test]
fn profiles_credential_process_and_unsigned() {
    let Some(s) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = write(
        dir.path(),
        "creds.sh",
        format!(
            "#!/bin/sh\ntouch '{}'\nprintf '{{\"Version\":1,\"AccessKeyId\":\"AKPROC\",\"SecretAccessKey\":\"SECRETPROC\"}}'\n",
            marker.display()
        )
        .as_bytes(),
    );
    let config = write(
        dir.path(),
        "config",
        format!(
            "[profile proc]\ncredential_process = sh {script}\nregion = us-east-1\n\
             [profile broken]\ncredential_process = sh -c 'echo SECRETLEAK; exit 2'\n\
             [profile empty]\nregion = us-east-1\n"
        )
        .as_bytes(),
    );
    let creds = write(
        dir.path(),
        "credentials",
        b"[keys]\naws_access_key_id = AKKEYS\naws_secret_access_key = SECRETKEYS\n",
    );
    let url = format!("s3://{BUCKET}/many/part-00001.log");
    let run = |extra: &[&str]| {
        let mut c = s.cmd(bin());
        c.env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(["summarize", "-o", "json"])
            .args(extra)
            .arg(&url);
        c.output().unwrap()
    };
    let out = run(&["--profile", "keys"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker.exists());
    let out = run(&["--profile", "proc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(marker.exists(), "credential_process was not run");
    let out = run(&["--profile", "broken"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("credential_process of profile 'broken'") && !err.contains("SECRET"),
        "{err}"
    );
    let out = run(&["--profile", "empty"]);
    assert!(
        stderr(&out).contains("has no credentials"),
        "{}",
        stderr(&out)
    );
    let out = run(&["--profile", "nope"]);
    assert!(
        stderr(&out).contains("'nope' is in neither"),
        "{}",
        stderr(&out)
    );
    // Unsigned requests for public buckets; a private object in one is
    // denied, named, and the rest is read.
    let mut c = s.cmd(bin());
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = c
        .args([
            "summarize",
            "-o",
            "json",
            "--no-sign-request",
            "s3://public/logs/",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(json(&out)["input"]["files_failed"], 1);
    assert!(json(&out)["input"]["records"].as_u64() > Some(0));
    assert!(
        err.contains("s3://public/logs/private.log.gz: cannot open: access denied"),
        "{err}"
    );
    // No secret in any message, whatever went wrong.
    for name in ["keys", "proc", "broken"] {
        let out = run(&["--profile", name, "--endpoint-url", "http://127.0.0.1:9"]);
        assert!(!stderr(&out).contains("SECRET"), "{}", stderr(&out));
    }
    let _ = std::io::stdout().flush();
}

/// Parquet objects (the incident sample's Parquet twin) read in place give
/// the JSON of the same files read locally, and of the text logs they
/// were made from; an object is told Parquet by its bytes, not its name.
#[cfg(feature = "parquet")]
#[test]
fn parquet_objects_read_as_the_same_files_on_disk() {
    let Some(s) = server() else { return };
    let twin = repo().join("sample-logs/incident-parquet");
    s.aws(&[
        "s3",
        "sync",
        "--only-show-errors",
        twin.join("AWSLogs").to_str().unwrap(),
        &format!("s3://{BUCKET}/parquet-twin/AWSLogs"),
    ]);
    // The same Parquet bytes under a text-looking name.
    let one = std::fs::read_dir(twin.join(DAY))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        one.to_str().unwrap(),
        &format!("s3://{BUCKET}/parquet-named-gz/one.log.gz"),
    ]);
    let url = format!("s3://{BUCKET}/parquet-twin/");
    for cmd in [
        vec!["summarize", "-o", "json"],
        vec!["top", "-o", "json", "--by", "src"],
    ] {
        let local = ok_json(&s.flowscope(&[&cmd[..], &[twin.to_str().unwrap()]].concat()));
        let remote = ok_json(&s.flowscope(&[&cmd[..], &[url.as_str()]].concat()));
        assert!(local == remote, "{cmd:?}: the JSON differs");
    }
    let text = ok_json(&s.flowscope(&[
        "summarize",
        "-o",
        "json",
        repo().join("sample-logs/incident").to_str().unwrap(),
    ]));
    let remote = ok_json(&s.flowscope(&["summarize", "-o", "json", url.as_str()]));
    assert_eq!(
        text["rows"], remote["rows"],
        "Parquet from S3 against the text logs"
    );
    assert_eq!(text["input"]["records"], remote["input"]["records"]);
    assert!(remote["input"]["records"].as_u64().unwrap() > 1000);
    let renamed = ok_json(&s.flowscope(&[
        "summarize",
        "-o",
        "json",
        &format!("s3://{BUCKET}/parquet-named-gz/one.log.gz"),
    ]));
    let file = ok_json(&s.flowscope(&["summarize", "-o", "json", one.to_str().unwrap()]));
    assert_eq!(renamed["rows"], file["rows"]);
    assert_eq!(renamed["input"]["records"], file["input"]["records"]);
    // An object cut short (its footer gone) beside a whole one: an error
    // naming its URL, the other read, the exit status of a damaged file.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&one).unwrap();
    let cut = write(dir.path(), "cut.log.parquet", &bytes[..bytes.len() / 2]);
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        &cut,
        &format!("s3://{BUCKET}/parquet-cut/a-cut.log.parquet"),
    ]);
    s.aws(&[
        "s3",
        "cp",
        "--only-show-errors",
        one.to_str().unwrap(),
        &format!("s3://{BUCKET}/parquet-cut/b-whole.log.parquet"),
    ]);
    let out = s.flowscope(&[
        "summarize",
        "-o",
        "json",
        &format!("s3://{BUCKET}/parquet-cut/"),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "s3://{BUCKET}/parquet-cut/a-cut.log.parquet: damaged Parquet file"
        )),
        "{err}"
    );
    let doc = json(&out);
    assert_eq!(doc["input"]["files"], 2);
    assert_eq!(doc["input"]["files_failed"], 1);
    assert_eq!(doc["input"]["records"], file["input"]["records"]);
}

#[test]
fn cloudwatch_logs_forms_read_from_s3_as_from_files() {
    let Some(s) = server() else { return };
    let cw = repo().join("tests/data/cloudwatch/constructed");
    // An export task's object, and a Firehose object of a subscription
    // under its own extension-less name (Firehose without compression).
    let objects = [
        (
            "export-task.000000.gz",
            "cw/exportedlogs/task-1/eni-d68830d4-all/000000.gz",
        ),
        (
            "firehose-s3.gz",
            "cw/firehose/2025/11/20/00/flowlogs-1-2025-11-20-00-15-02-0b3e4a1c-9d2f-4e1a-8b7c-1234567890ab",
        ),
        ("filter-log-events.pages.json", "cw/events/pages.json.gz"),
    ];
    for (file, key) in objects {
        s.aws(&[
            "s3",
            "cp",
            "--only-show-errors",
            cw.join(file).to_str().unwrap(),
            &format!("s3://{BUCKET}/{key}"),
        ]);
    }
    for (file, key) in objects {
        let prefix = key.rsplit_once('/').unwrap().0;
        for cmd in [
            vec!["summarize", "-o", "json"],
            vec!["top", "-o", "json", "--by", "src"],
        ] {
            let local =
                ok_json(&s.flowscope(&[&cmd[..], &[cw.join(file).to_str().unwrap()]].concat()));
            let remote =
                ok_json(&s.flowscope(&[&cmd[..], &[&format!("s3://{BUCKET}/{prefix}/")]].concat()));
            assert!(local == remote, "{cmd:?} {key}: the JSON differs");
        }
    }
    let doc = ok_json(&s.flowscope(&["summarize", "-o", "json", &format!("s3://{BUCKET}/cw/")]));
    assert_eq!(doc["input"]["files"], 3);
    assert_eq!(doc["input"]["control_messages"], 1);
    assert_eq!(doc["input"]["records"], 4 + 3 + 4);
}
