//! Test helpers: run the built binary, write gzip files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the `flowscope` binary built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_flowscope"))
}

/// Runs flowscope with arguments; returns the output.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run flowscope")
}

/// Runs flowscope with `stdin` piped in.
pub fn run_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parses stdout as JSON, with the stderr shown on failure.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Gzip-compresses bytes (one member).
pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Writes a file and returns its path as a string.
pub fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, data).unwrap();
    p.to_string_lossy().into_owned()
}

/// Sum of `flows` over `rows` of a summarize JSON document.
pub fn sum_flows(doc: &serde_json::Value) -> u64 {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["flows"].as_u64().unwrap())
        .sum()
}

/// Checks the accounting identity of a JSON `input` object.
pub fn assert_balanced(input: &serde_json::Value) {
    let n = |k: &str| input[k].as_u64().unwrap();
    let skipped: u64 = input["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        n("lines"),
        n("headers") + n("records") + n("nodata") + n("skipdata") + skipped,
        "accounting identity broken: {input}"
    );
}
