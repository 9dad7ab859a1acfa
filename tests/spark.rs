//! Pre-aggregation on a real engine: `flowscope sql` run by Spark (local
//! mode, `scripts/spark/preaggregate.py`), and the result read back. What
//! summarize and recommend say of the Spark output must be what they say of
//! the raw logs: rows, interfaces, timeline, proposals; only the input
//! accounting differs (lines read, not the records they stand for).
//!
//! Without pyspark the Spark test is skipped with a message, unless `CI`
//! is set (then it fails). The test that does not need Spark reduces the
//! lines itself, as the query does, so the weighting is tested everywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{json, run, stderr};

fn generate(dir: &Path, profile: &str, records: &str, files: &str) {
    let out = run(&[
        "generate",
        "--profile",
        profile,
        "--out",
        dir.to_str().unwrap(),
        "--records",
        records,
        "--files",
        files,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Every flow-log file under `dir`, sorted.
fn logs(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(".log.gz") {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

/// `flowscope <command> -o json` over `inputs` with `extra` flags: the
/// output, checked for the identity of a weighted run (the rows' flows are
/// the flows the input stands for).
fn report(command: &str, inputs: &[&Path], extra: &[&str]) -> Value {
    let mut args = vec![command, "-o", "json", "-q"];
    args.extend_from_slice(extra);
    let paths: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    let out = run(&args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let v = json(&out);
    if command == "summarize" {
        let rows: u64 = v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["flows"].as_u64().unwrap())
            .sum();
        assert_eq!(rows, v["input"]["flows"].as_u64().unwrap(), "{args:?}");
    }
    v
}

/// `a` and `b` agree but for the input accounting, where `b` (reduced)
/// stands for the data records `a` read.
fn same_but_accounting(a: &Value, b: &Value, what: &str) {
    let (mut a, mut b) = (a.clone(), b.clone());
    let ia = a.as_object_mut().unwrap().remove("input").unwrap();
    let ib = b.as_object_mut().unwrap().remove("input").unwrap();
    assert_eq!(ia["records"], ia["flows"], "{what}");
    assert_eq!(ia["flows"], ib["flows"], "{what}: flows represented");
    assert!(
        ib["records"].as_u64() < ib["flows"].as_u64(),
        "{what}: nothing was reduced"
    );
    assert!(
        a == b,
        "{what}: reports differ\n{}",
        first_difference(&a, &b)
    );
}

fn first_difference(a: &Value, b: &Value) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                if y.get(k) != Some(v) {
                    return format!(
                        ".{k}{}",
                        first_difference(v, y.get(k).unwrap_or(&Value::Null))
                    );
                }
            }
            format!(
                ": keys {:?} vs {:?}",
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>()
            )
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            let i = x.iter().zip(y).position(|(p, q)| p != q).unwrap_or(0);
            format!("[{i}]{}", first_difference(&x[i], &y[i]))
        }
        _ => format!(": {a} vs {b}"),
    }
}

/// A record's line split into the columns the query groups by and its
/// counters; `None` for a header line.
fn reduce_lines(text: &str, into: &mut BTreeMap<(String, Vec<String>), [u64; 5]>) {
    let mut header: Vec<String> = Vec::new();
    for line in text.lines() {
        let toks: Vec<&str> = line.split(' ').collect();
        if toks[0] == "version" || toks[0] == "account-id" {
            header = toks.iter().map(|s| s.to_string()).collect();
            continue;
        }
        let mut key = Vec::new();
        let mut c = [0u64; 5];
        for (name, v) in header.iter().zip(&toks) {
            let n = || v.parse::<u64>().ok();
            match name.as_str() {
                "packets" => c[0] = n().unwrap_or(0),
                "bytes" => c[1] = n().unwrap_or(0),
                "start" => c[2] = n().unwrap_or(0),
                "end" => c[3] = n().unwrap_or(0),
                "version" => {}
                _ => key.push(v.to_string()),
            }
        }
        let e = into
            .entry((header.join(" "), key))
            .or_insert([0, 0, u64::MAX, 0, 0]);
        e[0] += c[0];
        e[1] += c[1];
        e[2] = e[2].min(c[2]);
        e[3] = e[3].max(c[3]);
        e[4] += 1;
    }
}

/// The weighting without Spark: the generated logs reduced here as the
/// query reduces them (one line per group of records equal but for their
/// counters and times, with a `flows` column) read as the raw logs read.
/// Fails if any count ignores `flows` (front table, cells, NODATA
/// counts, learned addresses, accounting).
#[test]
fn lines_standing_for_many_records_summarize_as_those_records() {
    let dir = tempfile::tempdir().unwrap();
    let inv_dir = dir.path().join("raw");
    generate(&inv_dir, "retail", "20000", "6");
    // The logs alone: summarize would take the inventory beside them.
    let raw = inv_dir.join("AWSLogs");
    let mut groups = BTreeMap::new();
    for f in logs(&raw) {
        let mut text = String::new();
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        reduce_lines(&text, &mut groups);
    }
    let mut out = String::new();
    let mut last = String::new();
    for ((header, key), c) in &groups {
        if *header != last {
            let cols: Vec<&str> = header.split(' ').filter(|n| *n != "version").collect();
            let keys: Vec<&str> = cols
                .iter()
                .copied()
                .filter(|n| !["packets", "bytes", "start", "end"].contains(n))
                .collect();
            out.push_str(&format!(
                "{} packets bytes start end flows\n",
                keys.join(" ")
            ));
            last = header.clone();
        }
        out.push_str(&format!(
            "{} {} {} {} {} {}\n",
            key.join(" "),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4]
        ));
    }
    let reduced = dir.path().join("reduced.log");
    std::fs::write(&reduced, out).unwrap();
    let inv = [
        "--groups",
        inv_dir.to_str().unwrap(),
        "--interfaces",
        inv_dir.to_str().unwrap(),
    ];
    for j in ["-j1", "-j2"] {
        let a = report("summarize", &[&raw], &[j]);
        let b = report("summarize", &[&reduced], &[j]);
        same_but_accounting(&a, &b, &format!("summarize {j}"));
        let mut with = inv.to_vec();
        with.push(j);
        let a = report("recommend", &[&raw], &with);
        let b = report("recommend", &[&reduced], &with);
        same_but_accounting(&a, &b, &format!("recommend {j}"));
    }
    // top weighs lines too.
    let top = |p: &Path| {
        let mut v = report("top", &[p], &["--by", "src", "-n", "5"]);
        v.as_object_mut().unwrap().remove("input");
        v
    };
    assert_eq!(top(&raw), top(&reduced));
    // Per-record commands refuse, naming the file.
    for cmd in ["query", "scans"] {
        let out = run(&[cmd, reduced.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        let e = stderr(&out);
        assert!(
            e.contains("reduced.log: a pre-aggregated flow log"),
            "{cmd}: {e}"
        );
    }
}

/// True when `python3 -c 'import pyspark'` works; otherwise skips (says
/// so), or fails under CI.
fn pyspark() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "pyspark is missing (python3 -m pip install pyspark): CI runs the Spark test"
        );
        eprintln!("tests/spark.rs: pyspark not installed: the Spark test is skipped");
    }
    ok
}

#[test]
fn spark_preaggregates_exactly() {
    if !pyspark() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (retail_inv, busy_inv) = (d.join("retail"), d.join("busy"));
    generate(&retail_inv, "retail", "20000", "6");
    generate(&busy_inv, "busy", "100000", "2");
    // The logs alone: summarize would take the inventory beside them.
    let (retail, busy) = (retail_inv.join("AWSLogs"), busy_inv.join("AWSLogs"));
    let busy_files = logs(&busy);
    assert_eq!(busy_files.len(), 2, "{busy_files:?}");
    let s = |p: &Path| p.display().to_string();
    let out = |name: &str| d.join("out").join(name);
    let job = |paths: Vec<String>, name: &str, extra: Value| {
        let mut j = serde_json::json!({
            "paths": paths,
            "out": s(&out(name)),
            "flowscope": s(&crate::util::bin()),
        });
        for (k, v) in extra.as_object().unwrap() {
            j[k] = v.clone();
        }
        j
    };
    let jobs = serde_json::json!([
        job(vec![s(&retail)], "retail_pq", serde_json::json!({})),
        job(
            vec![s(&retail)],
            "retail_txt",
            serde_json::json!({"output": "text"})
        ),
        // Athena's text, run by Spark in ANSI mode with double-quoted
        // identifiers: where the dialects agree, the same query.
        job(
            vec![s(&retail)],
            "retail_athena",
            serde_json::json!({"engine": "athena"})
        ),
        job(
            vec![s(&retail)],
            "retail_1h",
            serde_json::json!({"sql_args": ["--bucket", "1h"]})
        ),
        job(vec![s(&busy)], "busy_pq", serde_json::json!({"files": 2})),
        job(vec![s(&busy_files[0])], "busy_a", serde_json::json!({})),
        job(vec![s(&busy_files[1])], "busy_b", serde_json::json!({})),
    ]);
    let jobs_file = d.join("jobs.json");
    std::fs::write(&jobs_file, jobs.to_string()).unwrap();
    let script = crate::util::repo().join("scripts/spark/preaggregate.py");
    let spark = Command::new("python3")
        .arg(&script)
        .arg("--jobs")
        .arg(&jobs_file)
        .output()
        .unwrap();
    assert!(
        spark.status.success(),
        "spark: {}",
        String::from_utf8_lossy(&spark.stderr)
    );
    let inv = |p: &Path| {
        [
            "--groups".to_string(),
            s(p),
            "--interfaces".to_string(),
            s(p),
        ]
    };
    let cases: [(&Path, &Path, Vec<PathBuf>, &str); 5] = [
        (
            &retail,
            &retail_inv,
            vec![out("retail_pq")],
            "retail, Parquet",
        ),
        (
            &retail,
            &retail_inv,
            vec![out("retail_txt")],
            "retail, text",
        ),
        (
            &retail,
            &retail_inv,
            vec![out("retail_athena")],
            "retail, Athena's query",
        ),
        (&busy, &busy_inv, vec![out("busy_pq")], "busy"),
        (
            &busy,
            &busy_inv,
            vec![out("busy_a"), out("busy_b")],
            "busy, two halves read together",
        ),
    ];
    for (raw, inv_dir, reduced, what) in &cases {
        let reduced: Vec<&Path> = reduced.iter().map(PathBuf::as_path).collect();
        for j in ["-j1", "-j2"] {
            let a = report("summarize", &[raw], &[j]);
            let b = report("summarize", &reduced, &[j]);
            same_but_accounting(&a, &b, &format!("{what}: summarize {j}"));
        }
        let inv = inv(inv_dir);
        let inv: Vec<&str> = inv.iter().map(String::as_str).collect();
        let a = report("recommend", &[raw], &inv);
        let b = report("recommend", &reduced, &inv);
        same_but_accounting(&a, &b, &format!("{what}: recommend"));
    }
    // The timeline is exact at the query's --bucket and its multiples.
    for width in ["1h", "2h"] {
        let a = report("summarize", &[&retail], &["--bucket", width]);
        let b = report("summarize", &[&out("retail_1h")], &["--bucket", width]);
        assert!(a["timeline"]["buckets"].as_array().unwrap().len() > 1);
        same_but_accounting(&a, &b, &format!("summarize --bucket {width}"));
    }
}
