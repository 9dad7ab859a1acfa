//! `-o html` in a real browser: Debian's headless Chromium loads the page
//! from a file, runs its script, and `--dump-dom` gives the document as
//! the browser built it. What it shows is checked against `-o json` of
//! the same run (never against numbers written here); hostile inventory
//! text must come out as text and run nothing; the page's
//! Content-Security-Policy must stop what escaping would have let in.
//!
//! With CI set, a missing chromium fails these tests; otherwise they are
//! skipped with a message (`apt-get install chromium`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{json, repo, run, stderr};

const RETAIL: &str = "sample-logs/retail-store";

/// The browser, or None (skip) when it is not installed and CI is not set.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (apt-get install -y chromium); CI needs it"
        );
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium)");
    }
    found
}

/// The DOM of `page` once Chromium loaded it and its script ran.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {} in 90 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().unwrap().unwrap();
    assert!(
        dom.contains("</html>"),
        "no document from chromium: {dom:.300}"
    );
    dom
}

/// The attributes of every start tag `<{tag} ` whose class is `class`.
fn elements(dom: &str, tag: &str, class: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{tag} ");
    let mut out = Vec::new();
    let mut rest = dom;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let end = rest.find('>').unwrap();
        let attrs = attributes(&rest[..end]);
        if attrs
            .get("class")
            .is_some_and(|c| c.split(' ').any(|c| c == class))
        {
            out.push(attrs);
        }
    }
    out
}

/// `name="value"` pairs as Chromium serializes them.
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag.trim();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let value_end = rest[eq + 2..].find('"').unwrap();
        let value = &rest[eq + 2..eq + 2 + value_end];
        let value = value
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        out.insert(name, value);
        rest = rest[eq + 2 + value_end + 1..].trim_start();
    }
    out
}

/// Runs flowscope with `-o html --output-file` and `-o json` on the same
/// arguments; returns the page's path (in `dir`) and the JSON.
fn render(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Value) {
    let page = dir.join(name);
    let mut a = args.to_vec();
    let file = page.to_str().unwrap().to_string();
    a.extend(["-o", "html", "--output-file", &file]);
    let out = run(&a);
    assert!(out.status.success(), "{a:?}: {}", stderr(&out));
    let mut a = args.to_vec();
    a.extend(["-o", "json"]);
    let out = run(&a);
    assert!(out.status.success(), "{a:?}: {}", stderr(&out));
    (page, json(&out))
}

fn n(v: &Value) -> String {
    v.as_u64().unwrap().to_string()
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// The page's script ran (it marks the root), under the page's policy.
fn assert_script_ran(dom: &str) {
    let start = dom.find("<html").unwrap() + 5;
    let html = attributes(&dom[start..start + dom[start..].find('>').unwrap()]);
    assert_eq!(
        html.get("class").map(String::as_str),
        Some("js"),
        "{html:?}"
    );
}

/// Every group of the inventory has a section, every rule of the JSON a
/// row with its numbers, every recommendation an entry with its evidence.
fn check_recommend(dom: &str, doc: &Value, groups_file: &Path) {
    assert_script_ran(dom);
    let inventory: Value = serde_json::from_slice(&std::fs::read(groups_file).unwrap()).unwrap();
    let groups: BTreeSet<String> = inventory["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| s(&g["GroupId"]))
        .collect();
    let sections: BTreeSet<String> = elements(dom, "details", "group")
        .into_iter()
        .map(|a| a["data-group"].clone())
        .collect();
    assert_eq!(sections, groups);

    let mut shown: Vec<[String; 6]> = elements(dom, "tr", "rule")
        .into_iter()
        .map(|a| {
            let k = |key: &str| a[key].clone();
            [
                k("data-group"),
                k("data-direction"),
                k("data-status"),
                k("data-flows"),
                k("data-bytes"),
                k("data-peers"),
            ]
        })
        .collect();
    let mut want: Vec<[String; 6]> = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let h = &r["hits"];
            [
                s(&r["group_id"]),
                s(&r["direction"]),
                s(&r["status"]),
                n(&h["flows"]),
                n(&h["bytes"]),
                n(&h["peers"]),
            ]
        })
        .collect();
    assert!(!want.is_empty());
    shown.sort();
    want.sort();
    assert_eq!(shown, want);
    // The numbers people read: separators, the exact count beside it.
    for r in doc["rules"].as_array().unwrap() {
        let flows = r["hits"]["flows"].as_u64().unwrap();
        let cell = format!("data-v=\"{flows}\">{}</td>", thousands(flows));
        assert!(dom.contains(&cell), "no cell {cell}");
    }

    let mut proposals: Vec<[String; 5]> = elements(dom, "article", "proposal")
        .into_iter()
        .map(|a| {
            let k = |key: &str| a[key].clone();
            [
                k("data-kind"),
                k("data-confidence"),
                k("data-group"),
                k("data-flows"),
                k("data-bytes"),
            ]
        })
        .collect();
    let mut want: Vec<[String; 5]> = doc["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            [
                s(&r["kind"]),
                s(&r["confidence"]),
                s(&r["group_id"]),
                n(&r["evidence"]["flows"]),
                n(&r["evidence"]["bytes"]),
            ]
        })
        .collect();
    assert!(!want.is_empty());
    proposals.sort();
    want.sort();
    assert_eq!(proposals, want);
    // Each proposal's exact change: every proposed rule's CIDR or group.
    for r in doc["recommendations"].as_array().unwrap() {
        for p in r["proposed"].as_array().unwrap() {
            let target = p
                .get("cidr")
                .or(p.get("group_id"))
                .or(p.get("prefix_list_id"))
                .unwrap();
            assert!(
                dom.contains(&format!("+ {} ", r["direction"].as_str().unwrap()))
                    && dom.contains(target.as_str().unwrap()),
                "{p}"
            );
        }
    }
}

fn thousands(n: u64) -> String {
    flowscope::report::thousands(n)
}

/// Every interface and every row of the JSON, with their numbers.
fn check_summarize(dom: &str, doc: &Value) {
    assert_script_ran(dom);
    let mut rows: Vec<[String; 4]> = elements(dom, "tr", "row")
        .into_iter()
        .map(|a| {
            let k = |key: &str| a[key].clone();
            [
                k("data-interface"),
                k("data-flows"),
                k("data-packets"),
                k("data-bytes"),
            ]
        })
        .collect();
    let mut want: Vec<[String; 4]> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            [
                r["interface_id"].as_str().unwrap_or("").to_string(),
                n(&r["flows"]),
                n(&r["packets"]),
                n(&r["bytes"]),
            ]
        })
        .collect();
    assert!(!want.is_empty());
    rows.sort();
    want.sort();
    assert_eq!(rows, want);
    let interfaces: BTreeMap<String, String> = elements(dom, "tr", "interface")
        .into_iter()
        .map(|a| (a["data-interface"].clone(), a["data-records"].clone()))
        .collect();
    let want: BTreeMap<String, String> = doc["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["interface_id"].as_str().unwrap_or("").to_string(),
                n(&i["records"]),
            )
        })
        .collect();
    assert_eq!(interfaces, want);
    let records = doc["input"]["records"].as_u64().unwrap();
    assert!(dom.contains(&format!(">{}</td>", thousands(records))));
}

#[test]
fn recommend_and_summarize_pages_show_what_the_json_says() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (page, doc) = render(dir.path(), "recommend.html", &["recommend", RETAIL]);
    let dom = dump_dom(&browser, &page);
    check_recommend(
        &dom,
        &doc,
        &repo().join(RETAIL).join("security-groups.json"),
    );
    let (page, doc) = render(dir.path(), "summarize.html", &["summarize", RETAIL]);
    check_summarize(&dump_dom(&browser, &page), &doc);
}

/// The busy profile: 4 accounts, hundreds of rules, rows by the thousand.
#[test]
fn busy_estate_pages_show_what_the_json_says() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("busy");
    let out = run(&[
        "generate",
        "--profile",
        "busy",
        "--records",
        "20000",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let d = data.to_str().unwrap();
    let (page, doc) = render(dir.path(), "recommend.html", &["recommend", "-q", d]);
    check_recommend(
        &dump_dom(&browser, &page),
        &doc,
        &data.join("security-groups.json"),
    );
    let (page, doc) = render(dir.path(), "summarize.html", &["summarize", "-q", d]);
    check_summarize(&dump_dom(&browser, &page), &doc);
}

const HOSTILE: [&str; 4] = [
    "<img src=x onerror=document.title='pwned'>",
    "</script><script>document.title='pwned2'</script>",
    "\"><svg onload=document.title='pwned3'>",
    "</title></style><script>document.title='pwned4'</script>",
];

/// Group names, descriptions, tags, rule descriptions and the input's
/// file name carrying markup: on the page as text, running nothing.
#[test]
fn hostile_inventory_text_is_shown_as_text_and_runs_nothing() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sample = repo().join(RETAIL);
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(sample.join("security-groups.json")).unwrap())
            .unwrap();
    for (i, g) in doc["SecurityGroups"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        g["GroupName"] = HOSTILE[i % 4].into();
        g["Description"] = HOSTILE[(i + 1) % 4].into();
        g["Tags"] = serde_json::json!([{"Key": HOSTILE[2], "Value": HOSTILE[3]}]);
        for perm in g["IpPermissions"].as_array_mut().unwrap() {
            for range in perm["IpRanges"].as_array_mut().unwrap() {
                range["Description"] = HOSTILE[(i + 2) % 4].into();
            }
        }
    }
    let groups = dir.path().join("sgs.json");
    std::fs::write(&groups, serde_json::to_vec(&doc).unwrap()).unwrap();
    // The logs under a directory whose name is markup too.
    let logs = dir
        .path()
        .join("<img src=y onerror=document.title='pwned5'>");
    std::os::unix::fs::symlink(sample.join("AWSLogs"), &logs).unwrap();
    let interfaces = sample.join("network-interfaces.json");
    let args = [
        "recommend",
        "--groups",
        groups.to_str().unwrap(),
        "--interfaces",
        interfaces.to_str().unwrap(),
        logs.to_str().unwrap(),
    ];
    let (page, json) = render(dir.path(), "hostile.html", &args);
    let dom = dump_dom(&browser, &page);
    let title = &dom[dom.find("<title>").unwrap() + 7..dom.find("</title>").unwrap()];
    assert!(title.starts_with("Security-group review: "), "{title}");
    assert!(!dom.contains("pwned'</title>") && !title.contains("pwned"));
    for element in ["<img", "<svg"] {
        assert!(!dom.contains(element), "{element} element in the page");
    }
    assert_eq!(dom.matches("<script").count(), 1, "only the page's script");
    // Shown, as text: escaped in the serialized DOM.
    for h in HOSTILE {
        let text = h
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        assert!(dom.contains(&text), "{h} not shown as text");
    }
    assert!(dom.contains("onerror=document.title='pwned5'&gt;"));
    // Still the whole analysis.
    check_recommend(&dom, &json, &groups);
}

/// A test server on 127.0.0.1 that counts requests (a 404 to each).
struct Listener {
    port: u16,
    hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, _)) => {
                        h.fetch_add(1, Ordering::Relaxed);
                        c.set_nonblocking(false).unwrap();
                        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                        let mut buf = [0u8; 4096];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(
                            b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Listener { port, hits, stop }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Markup injected into the page as if escaping had failed: external
/// resources, an inline script and an event handler. The page's policy
/// must stop all of them; the same page without the policy shows that
/// they would have run (so the check can fail).
#[test]
fn the_content_security_policy_blocks_injected_resources_and_scripts() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (page, _) = render(dir.path(), "page.html", &["summarize", RETAIL]);
    let html = std::fs::read_to_string(&page).unwrap();
    let server = Listener::start();
    let base = format!("http://127.0.0.1:{}", server.port);
    let injected = format!(
        "<img src=\"{base}/i.png\"><link rel=\"stylesheet\" href=\"{base}/s.css\">\
         <script src=\"{base}/x.js\"></script>\
         <script>document.title='inline ran'</script>\
         <img src=\"nothing\" onerror=\"document.title='handler ran'\"></body>"
    );
    let attacked = html.replacen("</body>", &injected, 1);
    let with_policy = dir.path().join("attacked.html");
    std::fs::write(&with_policy, &attacked).unwrap();
    let dom = dump_dom(&browser, &with_policy);
    assert_script_ran(&dom);
    let title = &dom[dom.find("<title>").unwrap() + 7..dom.find("</title>").unwrap()];
    assert!(title.starts_with("Flow-log summary: "), "{title}");
    assert_eq!(
        server.hits.load(Ordering::Relaxed),
        0,
        "a request left the page"
    );

    // The control: without the policy the same markup loads and runs.
    let start = attacked
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + attacked[start..].find('>').unwrap() + 1;
    let open = format!("{}{}", &attacked[..start], &attacked[end..]);
    let without = dir.path().join("open.html");
    std::fs::write(&without, open).unwrap();
    let dom = dump_dom(&browser, &without);
    let title = &dom[dom.find("<title>").unwrap() + 7..dom.find("</title>").unwrap()];
    assert!(title.ends_with(" ran"), "{title}");
    assert!(
        server.hits.load(Ordering::Relaxed) > 0,
        "the control made no request"
    );
}

/// What the run printed on stderr (a malformed line here) is on the page,
/// line for line, as text.
#[test]
fn the_page_lists_the_warnings_the_run_printed() {
    let dir = tempfile::tempdir().unwrap();
    let log = crate::util::write(
        dir.path(),
        "flows.log",
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n\
          2 123456789012 eni-0a1 10.0.0.1 10.0.0.2 40000 443 6 10 840 1763596800 1763596860 ACCEPT OK\n\
          2 123456789012 eni-0a1 10.0.0.1 <b>x</b> 40000 443 6 10 840 1763596800 1763596860 ACCEPT OK\n",
    );
    let page = dir.path().join("page.html");
    let out = run(&[
        "summarize",
        "-o",
        "html",
        "--output-file",
        page.to_str().unwrap(),
        &log,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said: Vec<String> = stderr(&out).lines().map(str::to_string).collect();
    assert!(
        said.iter().any(|l| l.contains("warning")),
        "no warning to list: {said:?}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for line in &said {
        let text = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(html.contains(&text), "{line:?} is not on the page");
    }
}
