//! Where output goes: `--output-file` targets that are not plain files
//! (issue 16), closed pipes (issue 17), and `-j` values (issue 16).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{bin, repo, run, stderr, write};

const INV: &str = "sample-logs/retail-store";

/// 20,000 accepted flows to one interface of the retail-store inventory,
/// each on its own port: 20,000 summarize rows, megabytes of JSON.
fn many_rows(dir: &Path) -> String {
    let mut s = String::new();
    for i in 0..20_000u32 {
        s.push_str(&format!(
            "2 123456789012 eni-0bbb8a85853c18bd7 10.9.{}.{} 10.0.0.37 40000 {} 6 1 100 {} {} {} OK\n",
            i % 200,
            i % 250 + 1,
            1 + i,
            1_763_596_800 + i,
            1_763_596_860 + i,
            if i % 3 == 0 { "REJECT" } else { "ACCEPT" }
        ));
    }
    // A scanner: one source, 300 ports, rejected.
    for p in 0..300u32 {
        s.push_str(&format!(
            "2 123456789012 eni-0bbb8a85853c18bd7 203.0.113.9 10.0.0.37 50000 {} 6 1 40 1763596900 1763596910 REJECT OK\n",
            1000 + p
        ));
    }
    write(dir, "many.log", s.as_bytes())
}

fn summarize_json(out_file: &str) -> std::process::Output {
    run(&[
        "summarize",
        "-o",
        "json",
        "--output-file",
        out_file,
        "sample-logs/retail-store",
    ])
}

/// No `.NAME.flowscope-tmp-*` file in `dir`.
fn assert_no_temp(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("flowscope-tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// Issue 16: a symlink was replaced by a regular file; now its target
/// gets the data and the link stays a link.
#[cfg(unix)]
#[test]
fn output_file_through_a_symlink_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = summarize_json(link.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_eq!(doc["version"], 1);
    assert_no_temp(dir.path());
}

/// Issue 16: a FIFO (as `>(gzip > o.gz)` gives) became a regular file and
/// the reader got nothing; now it is written through.
#[cfg(unix)]
#[test]
fn output_file_into_a_fifo_reaches_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let out = summarize_json(fifo.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let got = reader.join().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(doc["version"], 1);
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(meta.file_type().is_fifo(), "the FIFO was replaced");
    assert_no_temp(dir.path());
}

/// A character device to write to: as root, a node made in `dir` (so a
/// regression replaces that node, never the system's /dev/null: the code
/// before this test did, as root); otherwise the system's, which a
/// regression cannot replace without root.
#[cfg(target_os = "linux")]
fn device(dir: &Path, name: &str, minor: u32) -> std::path::PathBuf {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Path::new("/dev").join(name);
    }
    let p = dir.join(name);
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mknod(2) with a valid C string; /dev/null is 1:3, /dev/full 1:7.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, minor)) };
    assert_eq!(r, 0, "mknod {}", p.display());
    p
}

/// Issue 16: a device is written to, never replaced.
#[cfg(target_os = "linux")]
#[test]
fn output_file_device_is_written_through() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let null = device(dir.path(), "null", 3);
    let out = summarize_json(null.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "{} was replaced",
        null.display()
    );
    assert_no_temp(dir.path());
}

/// `--output-file /dev/stdout >> log` appends to log (it was renamed over
/// and replaced), and `/dev/fd/N` of a file opened to append appends.
#[cfg(target_os = "linux")]
#[test]
fn output_file_dev_stdout_keeps_the_shells_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    for name in ["/dev/stdout", "/dev/fd/1", "-"] {
        std::fs::write(&log, b"old\n").unwrap();
        let f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        let out = Command::new(bin())
            .args([
                "summarize",
                "-o",
                "csv",
                "-n",
                "1",
                "--output-file",
                name,
                INV,
            ])
            .current_dir(repo())
            .stdout(f)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.starts_with("old\ninterface_id,"), "{name}: {text}");
        assert_eq!(text.lines().count(), 3, "{name}: {text}");
    }
    assert_no_temp(dir.path());
}

/// A write error names the file (disk full: a /dev/full node).
#[cfg(target_os = "linux")]
#[test]
fn write_errors_name_the_file() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let full = device(dir.path(), "full", 7);
    let out = summarize_json(full.to_str().unwrap());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains(full.to_str().unwrap()) && e.contains("No space left"),
        "{e}"
    );
    let meta = std::fs::symlink_metadata(&full).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "{} was replaced",
        full.display()
    );
}

/// Issue 16: a directory as the target is refused when the arguments are
/// parsed, before any input is read (the input here does not exist).
#[test]
fn output_file_directory_is_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in [
        vec!["summarize"],
        vec!["top", "--by", "src"],
        vec!["scans"],
        vec!["query"],
        vec!["recommend"],
    ] {
        let mut args = cmd.clone();
        args.extend([
            "--output-file",
            dir.path().to_str().unwrap(),
            "no/such/input",
        ]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let e = stderr(&out);
        assert!(e.contains("is a directory"), "{cmd:?}: {e}");
        assert!(!e.contains("no/such/input"), "{cmd:?} read its input: {e}");
    }
    assert_no_temp(dir.path());
    let missing = dir.path().join("nope/out.json");
    let out = run(&[
        "summarize",
        "--output-file",
        missing.to_str().unwrap(),
        "no/such/input",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

/// A replaced file keeps its permissions.
#[cfg(unix)]
#[test]
fn output_file_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("out.json");
    std::fs::write(&f, b"old").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = summarize_json(f.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    let meta = std::fs::metadata(&f).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert!(std::fs::read(&f).unwrap().starts_with(b"{"));
    assert_no_temp(dir.path());
}

/// A hard-linked file is written in place: both names see the data.
#[cfg(unix)]
#[test]
fn output_file_with_hard_links_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, b"old").unwrap();
    std::fs::hard_link(&a, &b).unwrap();
    let out = summarize_json(a.to_str().unwrap());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(std::fs::read(&b).unwrap().starts_with(b"{"));
}

/// No temporary file is left when the run fails (--strict with a
/// malformed line: no report), and the old file is untouched.
#[test]
fn no_temporary_file_after_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(
        dir.path(),
        "bad.log",
        b"2 1 eni-1 10.0.0.1 10.0.0.2 5 443 6 1 100 1 2 ACCEPT OK\nnot a record\n",
    );
    let f = dir.path().join("out.json");
    std::fs::write(&f, b"old").unwrap();
    let out = run(&[
        "summarize",
        "--strict",
        "-o",
        "json",
        "--output-file",
        f.to_str().unwrap(),
        &log,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(std::fs::read(&f).unwrap(), b"old");
    assert_no_temp(dir.path());
}

/// Waits until `dir` holds a temporary output file (the run has opened
/// its output and is reading stdin).
fn wait_for_temp(dir: &Path) {
    let t0 = Instant::now();
    loop {
        let found = std::fs::read_dir(dir).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .contains("flowscope-tmp")
        });
        if found {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "no temporary file");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// No temporary file is left when a signal ends the run: SIGTERM, SIGHUP,
/// and two Ctrl-C (the second exits at once). The run blocks on a stdin
/// that stays open, with its temporary output file created.
#[cfg(unix)]
#[test]
fn no_temporary_file_after_a_signal() {
    for signals in [
        &[libc::SIGTERM][..],
        &[libc::SIGHUP][..],
        &[libc::SIGINT, libc::SIGINT][..],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("out.json");
        let mut child = Command::new(bin())
            .args(["summarize", "-o", "json", "--output-file"])
            .arg(&f)
            .arg("-")
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        wait_for_temp(dir.path());
        for &sig in signals {
            // SAFETY: kill(2) on our own child.
            unsafe {
                libc::kill(child.id() as libc::pid_t, sig);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let status = child.wait().unwrap();
        drop(stdin);
        assert!(!status.success(), "{signals:?}");
        assert_no_temp(dir.path());
        assert!(!f.exists(), "{signals:?}: the output appeared");
    }
}

/// The commands, each output format, writing a large output (or, for the
/// recommend formats bounded by the inventory, any output).
fn every_output(log: &str) -> Vec<Vec<String>> {
    let g = format!("{INV}/security-groups.json");
    let i = format!("{INV}/network-interfaces.json");
    let t = format!("{INV}/template.json");
    let mut cmds: Vec<Vec<&str>> = Vec::new();
    for o in ["table", "json", "csv"] {
        cmds.push(vec!["summarize", "-n", "100000", "-o", o]);
        cmds.push(vec!["top", "--by", "port", "-n", "0", "-o", o]);
        cmds.push(vec!["scans", "--min-reject-pct", "0", "-o", o]);
    }
    for o in ["text", "json", "csv"] {
        cmds.push(vec!["query", "-o", o]);
        cmds.push(vec!["query", "--sort", "start", "-o", o]);
    }
    for o in ["table", "json", "cli", "cfn"] {
        cmds.push(vec![
            "recommend",
            "--groups",
            &g,
            "--interfaces",
            &i,
            "--template",
            &t,
            "-o",
            o,
        ]);
    }
    cmds.into_iter()
        .map(|c| {
            let mut v: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            v.push(log.to_string());
            v
        })
        .collect()
}

/// Runs `args` with stdout into a pipe whose reader takes `read` bytes
/// (0: none) and closes it; returns (exit code, stderr).
fn into_closed_pipe(args: &[String], read: usize) -> (Option<i32>, String) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if read > 0 {
        let mut buf = vec![0; read];
        stdout.read_exact(&mut buf).unwrap();
    }
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

/// Issue 17: `summarize -o json … | head -c 100` printed "Broken pipe"
/// and exited 2 (serde_json and csv wrap the io::Error where main did not
/// look). Every command and format: a reader that takes 100 bytes, or
/// none, then closes: exit 0, nothing on stderr.
#[test]
fn closed_pipe_is_quiet_success_for_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let log = many_rows(dir.path());
    for args in every_output(&log) {
        for read in [0, 100] {
            let (code, err) = into_closed_pipe(&args, read);
            assert_eq!(code, Some(0), "{args:?} (read {read}): {err}");
            assert_eq!(err, "", "{args:?} (read {read})");
        }
    }
    // The status is the complete run's: 1 when an input could not be read.
    let args: Vec<String> = ["summarize", "-o", "json", &log, "no/such/file.log"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (code, err) = into_closed_pipe(&args, 100);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("no/such/file.log") && !err.contains("Broken pipe"),
        "{err}"
    );
    // Completions and the man page too.
    for args in [vec!["completions", "bash"], vec!["man"]] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (code, err) = into_closed_pipe(&args, 0);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?}");
    }
}

/// Issue 16: `-j50000` panicked ("failed to spawn thread") and `-j0` was
/// accepted; both are usage errors now, said by clap.
#[test]
fn nonsense_thread_counts_are_usage_errors() {
    for (j, says) in [
        ("0", "use 1 or more"),
        ("50000", "at most 1024"),
        ("-3", "not a number of threads"),
        ("many", "not a number of threads"),
    ] {
        let out = run(&["summarize", &format!("-j{j}"), "sample-logs/retail-store"]);
        assert_eq!(out.status.code(), Some(2), "-j{j}");
        let e = stderr(&out);
        assert!(e.contains(says) && !e.contains("panicked"), "-j{j}: {e}");
    }
    // The largest value accepted runs (capped at what the work needs).
    let out = run(&[
        "summarize",
        "-j1024",
        "-o",
        "json",
        "sample-logs/retail-store",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A failed write to standard output (a full disk behind `>`) says that it
/// was standard output, as a failed --output-file names its file.
#[test]
fn a_failed_write_to_stdout_says_so() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let out = std::process::Command::new(crate::util::bin())
        .args(["summarize", "-q", "sample-logs/retail-store"])
        .current_dir(crate::util::repo())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("writing standard output: No space left on device"),
        "{err}"
    );
}
