//! Inputs written by someone else: inventory text that reaches a generated script, and other
//! cases found by an adversarial review after issues 16 and 17.

use crate::util::{repo, run, stderr, stdout};

const SAMPLE: &str = "sample-logs/retail-store";

/// `flowscope recommend` on the sample with every GroupName of its
/// security-groups.json passed through `rename`, and `args` before the
/// inputs.
fn recommend_renamed(rename: impl Fn(&str) -> String, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo().join(SAMPLE);
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample.join("security-groups.json")).unwrap())
            .unwrap();
    for g in doc["SecurityGroups"].as_array_mut().unwrap() {
        let name = rename(g["GroupName"].as_str().unwrap());
        g["GroupName"] = name.into();
    }
    let groups = dir.path().join("sgs.json");
    std::fs::write(&groups, serde_json::to_vec(&doc).unwrap()).unwrap();
    let interfaces = sample.join("network-interfaces.json");
    let logs = sample.join("AWSLogs");
    let mut all = args.to_vec();
    all.extend([
        "--groups",
        groups.to_str().unwrap(),
        "--interfaces",
        interfaces.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    run(&all)
}

/// A group name with a newline (EC2 tags and CloudFormation allow one; a hand-edited JSON too)
/// must stay inside its `#` comment: otherwise `sh apply.sh` runs what follows it.
#[test]
fn a_newline_in_a_group_name_does_not_become_a_command_in_the_cli_script() {
    let out = recommend_renamed(
        |name| format!("{name}\ntouch /tmp/flowscope-injected #\r\u{b}x"),
        &["recommend", "-o", "cli", "-q"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    assert!(script.contains("touch /tmp/flowscope-injected"), "{script}");
    // The script's own code (arguments, the `change` function) is the same whatever the names.
    let plain = stdout(&run(&["recommend", "-o", "cli", SAMPLE]));
    let code: Vec<&str> = plain
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("change aws ec2 "))
        .collect();
    for line in script.lines() {
        assert!(
            line.is_empty()
                || line.starts_with('#')
                || code.contains(&line)
                || line.starts_with("change aws ec2 "),
            "a line of the script is neither a comment, the script's code nor an aws call: {line:?}"
        );
        assert!(!line.contains(['\r', '\u{b}']), "{line:?}");
    }
}

/// Help read by a newcomer: `generate` has two profiles, and `query --sort --limit N` keeps only
/// N matches (the help said it collected every match, which would scare off its main use).
#[test]
fn help_text_matches_what_the_commands_do() {
    let top = stdout(&run(&["--help"]));
    let line = top
        .lines()
        .find(|l| l.trim_start().starts_with("generate"))
        .unwrap();
    assert!(line.contains("busy"), "{line}");
    let q = stdout(&run(&["query", "--help"]));
    assert!(!q.contains("Collects every match"), "{q}");
    assert!(q.contains("only the first N in sort order"), "{q}");
}

/// An escape sequence in a log line's interface id (not validated: any token is taken) must not
/// reach the terminal through a table.
#[test]
fn escape_sequences_in_log_fields_do_not_reach_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let log = crate::util::write(
        dir.path(),
        "esc.log",
        b"2 1 eni-\x1b]0;PWN\x07\x1b[31mX 10.0.0.1 10.0.0.2 1 22 6 1 1 1763600000 1763600001 ACCEPT OK\n",
    );
    for args in [
        vec!["--color", "never", "summarize", "-q", &log],
        vec!["--color", "never", "top", "--by", "eni", "-q", &log],
    ] {
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let table = stdout(&out);
        assert!(
            table.contains(r"eni-\u{1b}]0;PWN\u{7}\u{1b}[31mX"),
            "{table}"
        );
        assert!(!table.contains(['\x1b', '\x07']), "{table:?}");
    }
}

/// Overlapping paths (`logs/ logs/2025/11/20/`, one file twice, `-` twice) read each file once:
/// they were read again and every flow counted twice, and two readers of one stdin cut a line.
#[test]
fn an_input_named_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"2 1 eni-1 10.0.0.1 10.0.0.2 40000 22 6 1 60 1763600000 1763600001 ACCEPT OK\n";
    let log = crate::util::write(dir.path(), "a.log", text);
    let d = dir.path().to_str().unwrap();
    let out = run(&["summarize", "-o", "json", d, &log]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = crate::util::json(&out);
    assert_eq!(doc["input"]["records"], 1, "{}", doc["input"]);
    assert!(
        stderr(&out).contains("named more than once"),
        "{}",
        stderr(&out)
    );
    let out = crate::util::run_stdin(&["summarize", "-o", "json", "-", "-"], text);
    assert_eq!(crate::util::json(&out)["input"]["records"], 1);
}

/// The error naming an interface of the logs that the inventory lacks quotes it printably.
#[test]
fn an_unknown_interface_with_an_escape_is_named_printably() {
    let dir = tempfile::tempdir().unwrap();
    let log = crate::util::write(
        dir.path(),
        "esc.log",
        b"2 1 eni-\x1b[31mX 10.0.0.1 10.0.0.2 1 22 6 1 1 1763600000 1763600001 ACCEPT OK\n",
    );
    let sample = repo().join(SAMPLE);
    let out = run(&[
        "recommend",
        "--groups",
        sample.join("security-groups.json").to_str().unwrap(),
        "--interfaces",
        sample.join("network-interfaces.json").to_str().unwrap(),
        &log,
    ]);
    let err = stderr(&out);
    assert!(err.contains(r"e.g. eni-\u{1b}[31mX"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

/// recommend's table writes group names outside `Table` (headings,
/// headlines): an escape sequence in one must not reach the terminal.
#[test]
fn an_escape_in_a_group_name_does_not_reach_the_recommend_table() {
    let out = recommend_renamed(
        |name| format!("{name}\u{1b}]0;PWN\u{7}"),
        &["--color", "never", "recommend", "-q"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains(r"\u{1b}]0;PWN\u{7}"), "{table}");
    assert!(!table.contains(['\u{1b}', '\u{7}']), "{table:?}");
}
