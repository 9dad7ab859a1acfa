//! The incident `query`, `top` and `scans` are tested on, built here: a
//! port scanner, an exfiltration, a lateral sweep, and benign ALB traffic,
//! in gzip (multi-member) and plain files, default and custom formats.

use std::collections::BTreeSet;

use crate::util::*;

/// 2025-11-20T10:00:00Z.
pub const T0: u64 = 1763632800;
pub const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
pub const V5: &str = "version account-id vpc-id subnet-id instance-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction";

pub const ENI_10: &str = "eni-0a1b2c3d4e5f60710";
pub const ENI_11: &str = "eni-0a1b2c3d4e5f60711";
pub const ENI_SWEEPER: &str = "eni-0a1b2c3d4e5f60737";
pub const ENI_ALB: &str = "eni-0a1b2c3d4e5f60705";
pub const EXFIL_BYTES: u64 = 123_456_789;

pub struct Incident {
    pub _dir: tempfile::TempDir,
    pub root: String,
    pub scanner: Vec<String>,
    pub exfil: Vec<String>,
    pub exfil_responses: Vec<String>,
    pub sweep: Vec<String>,
    pub alb_tasks: Vec<String>,
    pub nodata_sweeper: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn v5(
    instance: &str,
    eni: &str,
    src: &str,
    dst: &str,
    sp: u16,
    dp: u16,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: &str,
    flags: u16,
    dir: &str,
) -> String {
    format!(
        "5 123456789012 vpc-0abc subnet-0{} {instance} {eni} {src} {dst} {sp} {dp} 6 {packets} {bytes} {start} {end} {action} OK {flags} {dir}",
        if eni == ENI_SWEEPER { "c" } else { "a" }
    )
}

#[allow(clippy::too_many_arguments)]
fn v2(
    eni: &str,
    src: &str,
    dst: &str,
    sp: u16,
    dp: u16,
    packets: u64,
    bytes: u64,
    start: u64,
    end: u64,
    action: &str,
) -> String {
    format!(
        "2 123456789012 {eni} {src} {dst} {sp} {dp} 6 {packets} {bytes} {start} {end} {action} OK"
    )
}

pub fn incident() -> Incident {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("logs").to_string_lossy().into_owned();

    // A scanner: 210 ports and 443 on two interfaces in two minutes
    // (10:04 to 10:06, across a 5-minute boundary); only 443 on .10 answers.
    let mut scanner = Vec::new();
    let ports: Vec<u16> = (1..=210).chain([443]).collect();
    let mut idx = 0u64;
    for &p in &ports {
        for (eni, dst, inst) in [
            (ENI_10, "10.0.1.10", "i-0abc10"),
            (ENI_11, "10.0.1.11", "-"),
        ] {
            let t = T0 + 240 + idx * 120 / 422;
            idx += 1;
            let ok = p == 443 && dst == "10.0.1.10";
            scanner.push(v5(
                inst,
                eni,
                "203.0.113.66",
                dst,
                61000,
                p,
                1,
                44,
                t,
                t + 1,
                if ok { "ACCEPT" } else { "REJECT" },
                2,
                "ingress",
            ));
        }
    }
    // The accepted connection's answer (SYN-ACK): not a scan by 10.0.1.10.
    scanner.push(v5(
        "i-0abc10",
        ENI_10,
        "10.0.1.10",
        "203.0.113.66",
        443,
        61000,
        1,
        44,
        T0 + 300,
        T0 + 301,
        "ACCEPT",
        18,
        "egress",
    ));

    // Exfiltration: 10 windows of 123,456,789 bytes to 198.51.100.77:443.
    let mut exfil = Vec::new();
    let mut exfil_responses = Vec::new();
    for i in 0..10u64 {
        let s = T0 + 1200 + i * 60;
        exfil.push(v5(
            "i-0abc10",
            ENI_10,
            "10.0.1.10",
            "198.51.100.77",
            50123,
            443,
            90_000,
            EXFIL_BYTES,
            s,
            s + 59,
            "ACCEPT",
            if i == 0 { 3 } else { 0 },
            "egress",
        ));
        exfil_responses.push(v5(
            "i-0abc10",
            ENI_10,
            "198.51.100.77",
            "10.0.1.10",
            443,
            50123,
            300,
            20_000,
            s,
            s + 59,
            "ACCEPT",
            if i == 0 { 18 } else { 0 },
            "ingress",
        ));
    }

    // Lateral sweep: 10.0.3.7 to 30 internal hosts on 22 and 3389; SSH on
    // 10.0.2.5 and 10.0.2.9 answers.
    let mut sweep = Vec::new();
    let mut k = 0u64;
    for host in 1..=30 {
        for port in [22u16, 3389] {
            let ok = port == 22 && (host == 5 || host == 9);
            let t = T0 + 2400 + k * 2;
            sweep.push(v5(
                "i-0def37",
                ENI_SWEEPER,
                "10.0.3.7",
                &format!("10.0.2.{host}"),
                45000 + k as u16,
                port,
                1,
                60,
                t,
                t + 1,
                if ok { "ACCEPT" } else { "REJECT" },
                2,
                "egress",
            ));
            k += 1;
        }
    }

    let mut incident = format!("{V5}\n");
    for l in scanner
        .iter()
        .chain(&exfil)
        .chain(&exfil_responses)
        .chain(&sweep)
    {
        incident.push_str(l);
        incident.push('\n');
    }
    write(dir.path(), "logs/incident.log", incident.as_bytes());

    // Benign: the ALB to 12 tasks on 8080, with the tasks' responses.
    let mut alb_tasks = Vec::new();
    for task in 20..=31u16 {
        let eni = format!("eni-0a1b2c3d4e5f607{task}");
        let addr = format!("10.0.1.{task}");
        for n in 0..5u16 {
            let s = T0 + 60 * n as u64;
            let sp = 40000 + task * 10 + n;
            alb_tasks.push(v2(
                &eni,
                "10.0.0.5",
                &addr,
                sp,
                8080,
                10,
                1500,
                s,
                s + 30,
                "ACCEPT",
            ));
            alb_tasks.push(v2(
                &eni,
                &addr,
                "10.0.0.5",
                8080,
                sp,
                8,
                4000,
                s,
                s + 30,
                "ACCEPT",
            ));
        }
    }
    let text = format!("{V2}\n{}\n", alb_tasks.join("\n"));
    write(dir.path(), "logs/benign-1.log.gz", &gz(text.as_bytes()));

    // Benign: 500 clients, 3 flows each, to the ALB on 443, with responses;
    // two gzip members, each with its header.
    let mut members = Vec::new();
    for half in 0..2 {
        let mut text = format!("{V2}\n");
        for c in (half * 250)..(half * 250 + 250) {
            let client = format!("198.18.{}.{}", c / 250, c % 250 + 1);
            for f in 0..3u64 {
                let s = T0 + (c as u64 * 7) % 3000 + f * 10;
                let sp = 50000 + f as u16;
                text.push_str(&v2(
                    ENI_ALB,
                    &client,
                    "10.0.0.5",
                    sp,
                    443,
                    6,
                    800,
                    s,
                    s + 5,
                    "ACCEPT",
                ));
                text.push('\n');
                text.push_str(&v2(
                    ENI_ALB,
                    "10.0.0.5",
                    &client,
                    443,
                    sp,
                    7,
                    5000,
                    s,
                    s + 5,
                    "ACCEPT",
                ));
                text.push('\n');
            }
        }
        members.extend(gz(text.as_bytes()));
    }
    write(dir.path(), "logs/benign-2.log.gz", &members);

    // NODATA records in the default format, no header.
    let nodata_sweeper = vec![
        format!(
            "2 123456789012 {ENI_SWEEPER} - - - - - - - {} {} - NODATA",
            T0 + 3000,
            T0 + 3060
        ),
        format!(
            "2 123456789012 {ENI_SWEEPER} - - - - - - - {} {} - NODATA",
            T0 + 3060,
            T0 + 3120
        ),
    ];
    let nodata = format!(
        "{}\n2 123456789012 {ENI_ALB} - - - - - - - {} {} - NODATA\n",
        nodata_sweeper.join("\n"),
        T0 + 3000,
        T0 + 3060
    );
    write(dir.path(), "logs/nodata.log", nodata.as_bytes());

    Incident {
        _dir: dir,
        root,
        scanner,
        exfil,
        exfil_responses,
        sweep,
        alb_tasks,
        nodata_sweeper,
    }
}

/// Runs a command over the incident; asserts success.
pub fn ok(inc: &Incident, args: &[&str]) -> std::process::Output {
    let mut a: Vec<&str> = args.to_vec();
    a.push(&inc.root);
    let out = run(&a);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

pub fn line_set(out: &std::process::Output) -> BTreeSet<String> {
    stdout(out).lines().map(str::to_string).collect()
}

pub fn set<'a>(parts: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
    parts.into_iter().cloned().collect()
}

/// Writes the incident to $FLOWSCOPE_INCIDENT_DIR (for docs/investigate.md):
/// `FLOWSCOPE_INCIDENT_DIR=/tmp/x cargo test --test tests write_incident -- --ignored`
#[test]
#[ignore]
fn write_incident_for_docs() {
    let inc = incident();
    let to = std::path::PathBuf::from(std::env::var("FLOWSCOPE_INCIDENT_DIR").unwrap());
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(&inc.root).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
