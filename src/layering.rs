//! The layering, checked on the source (unit tests only):
//!
//! * only `cli` (and `main`) know clap, and no module imports `cli`;
//! * only the command layer reports (prints, or uses `messages`);
//! * commands do not import each other;
//! * no import cycles: at every level of the module tree (the crate's
//!   top-level modules, the children of `flowlog`, of `flowlog::parse`,
//!   ...), the "uses" graph between sibling modules has no cycle, apart
//!   from the edges listed in `ALLOWED` with the reason each is there.
//!
//! The code is read with its comments, string literals and
//! `#[cfg(test)]` items (and the files of `#[cfg(test)] mod x;`) left
//! out: a test may print or reach anywhere. A reference is any path that
//! starts with `crate::`, `super::` or `self::` (in `use` or in code,
//! with `{..}` groups expanded). The dependency order is printed with
//! `cargo test layering -- --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Edges that close a cycle but stay, each with why: (the using file,
/// or a folder of files, the module it uses).
// None today: the last two (the Parquet reader's use of the engine's
// `Processor`, `reader`'s re-export of `open`) went when `Processor` and
// the accounting moved into `flowlog`.
const ALLOWED: &[(&str, &str, &str)] = &[];

/// The command modules (one per verb); the rest of `commands` is shared.
const VERBS: &[&str] = &[
    "generate",
    "query",
    "recommend",
    "scans",
    "summarize",
    "top",
];

struct Source {
    /// Path under `src/`, with `/`.
    rel: String,
    /// Module path: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
    module: Vec<String>,
    /// The code without comments, literals and test items.
    code: String,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_of(rel: &str) -> Vec<String> {
    let mut m: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        m.pop();
    }
    m
}

/// Blanks comments (nested block comments too), string and char literals'
/// contents, keeping everything else (lifetimes are not char literals).
fn strip_comments_and_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c == b'r' || (c == b'b' && b.get(i + 1) == Some(&b'r')))
            && (i == 0 || !ident(b[i - 1]))
            && {
                let j = i + if c == b'b' { 2 } else { 1 };
                let hashes = b[j..].iter().take_while(|&&h| h == b'#').count();
                b.get(j + hashes) == Some(&b'"')
            }
        {
            // A raw string: r"..", r#".."#, br"..".
            let j = i + if c == b'b' { 2 } else { 1 };
            let hashes = b[j..].iter().take_while(|&&h| h == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let body = j + hashes + 1;
            let end = b[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |p| body + p + close.len());
            out.push_str("\"\"");
            i = end;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' && b.get(i + 1) == Some(&b'\\') {
            // '\n', '\'', '\u{..}'
            i += 2;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == b'\'' && b.get(i + 2) == Some(&b'\'') {
            i += 3;
            out.push_str("' '");
        } else if c == b'\'' && text[i + 1..].chars().nth(1) == Some('\'') {
            // A non-ASCII char literal.
            let w = text[i + 1..].chars().next().unwrap().len_utf8();
            i += 2 + w;
            out.push_str("' '");
        } else {
            let w = text[i..].chars().next().unwrap().len_utf8();
            out.push_str(&text[i..i + w]);
            i += w;
        }
    }
    out
}

/// Drops every `#[cfg(test)]` item (up to its `;` or its closing brace),
/// returning the code left and the names of the `mod name;` dropped.
fn drop_test_items(code: &str) -> (String, Vec<String>) {
    const ATTR: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut test_mods = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(ATTR) {
        out.push_str(&rest[..at]);
        let item = &rest[at + ATTR.len()..];
        let semi = item.find(';');
        let brace = item.find('{');
        let end = match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => {
                let decl = item[..s].split_whitespace().collect::<Vec<_>>();
                if let [.., "mod", name] = decl.as_slice() {
                    test_mods.push(name.to_string());
                }
                s + 1
            }
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = item.len();
                for (k, ch) in item[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            _ => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_mods)
}

/// The crate's non-test sources.
fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut all = Vec::new();
    let mut test_only: BTreeSet<Vec<String>> = BTreeSet::new();
    for f in &files {
        let rel = f
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(f).unwrap();
        let (code, test_mods) = drop_test_items(&strip_comments_and_literals(&text));
        let module = module_of(&rel);
        for m in test_mods {
            let mut p = module.clone();
            p.push(m);
            test_only.insert(p);
        }
        all.push(Source { rel, module, code });
    }
    all.retain(|s| !test_only.iter().any(|t| s.module.starts_with(t)));
    all
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Other(char),
}

fn tokens(code: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphabetic() || c == '_' || c == '$' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Tok::Ident(code[i..end].to_string()));
        } else if c == ':' && chars.peek().is_some_and(|&(_, d)| d == ':') {
            chars.next();
            out.push(Tok::Path);
        } else if !c.is_whitespace() {
            out.push(Tok::Other(c));
        }
    }
    out
}

/// The paths of a use tree from `toks[i]` (an identifier), `{..}` groups
/// expanded; returns them and the index after the tree.
fn use_tree(toks: &[Tok], mut i: usize, prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(s)) if s != "self" || path.is_empty() => path.push(s.clone()),
            Some(Tok::Ident(_)) => {} // `a::{self, ..}`: `a` itself
            Some(Tok::Other('{')) => {
                let mut all = Vec::new();
                i += 1;
                loop {
                    match toks.get(i) {
                        None => return (all, i),
                        Some(Tok::Other('}')) => return (all, i + 1),
                        Some(Tok::Ident(_)) | Some(Tok::Other('{')) => {
                            let (mut paths, next) = use_tree(toks, i, path.clone());
                            all.append(&mut paths);
                            i = next;
                            // `as alias`, `*`, up to the next item.
                            let mut depth = 0;
                            while let Some(t) = toks.get(i) {
                                match t {
                                    Tok::Other('{') => depth += 1,
                                    Tok::Other('}') if depth == 0 => break,
                                    Tok::Other('}') => depth -= 1,
                                    Tok::Other(',') if depth == 0 => {
                                        i += 1;
                                        break;
                                    }
                                    _ => {}
                                }
                                i += 1;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            _ => return (vec![path], i),
        }
        i += 1;
        if toks.get(i) == Some(&Tok::Path) {
            i += 1;
        } else {
            return (vec![path], i);
        }
    }
}

/// Every module-relative path a file names, made absolute (from the
/// crate root): `crate::a::b`, `super::b`, `self::c::d`.
fn references(s: &Source) -> Vec<Vec<String>> {
    let toks = tokens(&s.code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let head = match &toks[i] {
            Tok::Ident(h) if matches!(h.as_str(), "crate" | "super" | "self") => h.as_str(),
            _ => {
                i += 1;
                continue;
            }
        };
        if toks.get(i + 1) != Some(&Tok::Path) {
            i += 1;
            continue;
        }
        let mut base: Vec<String> = match head {
            "crate" => Vec::new(),
            "self" => s.module.clone(),
            _ => s.module[..s.module.len().saturating_sub(1)].to_vec(),
        };
        i += 2;
        // super::super::...
        while toks.get(i) == Some(&Tok::Ident("super".into()))
            && toks.get(i + 1) == Some(&Tok::Path)
        {
            base.pop();
            i += 2;
        }
        let (paths, next) = use_tree(&toks, i, base);
        out.extend(paths);
        i = next.max(i + 1);
    }
    out
}

/// Uses between sibling modules: for each parent module, (from child,
/// to child) → the files that make the edge.
type Edges = BTreeMap<Vec<String>, BTreeMap<(String, String), BTreeSet<String>>>;

fn sibling_edges(files: &[Source]) -> Edges {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|s| s.module.clone()).collect();
    let mut edges = Edges::new();
    for s in files {
        for r in references(s) {
            let common = s.module.iter().zip(&r).take_while(|(a, b)| a == b).count();
            if common >= s.module.len() || common >= r.len() {
                continue; // itself, a parent or a child of itself
            }
            // Only modules count, not items (`crate::engine::Cancel`).
            if !modules.contains(&r[..=common]) {
                continue;
            }
            let allowed = ALLOWED
                .iter()
                .any(|(from, to, _)| s.rel.starts_with(from) && r.join("::").starts_with(to));
            if allowed {
                continue;
            }
            edges
                .entry(s.module[..common].to_vec())
                .or_default()
                .entry((s.module[common].clone(), r[common].clone()))
                .or_default()
                .insert(s.rel.clone());
        }
    }
    edges
}

/// A cycle in a graph, if any, as the path round it.
fn find_cycle(graph: &BTreeMap<&str, BTreeSet<&str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in graph.get(n).into_iter().flatten() {
            match state.get(m) {
                Some(1) => {
                    let at = stack.iter().position(|&x| x == m).unwrap();
                    let mut c: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
                    c.push(m.to_string());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let mut state = BTreeMap::new();
    for &n in graph.keys() {
        if !state.contains_key(n) {
            if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The modules in an order where each uses only those before it.
fn order<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Vec<&'a str> {
    let mut nodes: BTreeSet<&str> = graph.keys().copied().collect();
    nodes.extend(graph.values().flatten().copied());
    let mut done: Vec<&str> = Vec::new();
    while done.len() < nodes.len() {
        let next: Vec<&str> = nodes
            .iter()
            .filter(|n| !done.contains(n))
            .filter(|n| {
                graph
                    .get(*n)
                    .into_iter()
                    .flatten()
                    .all(|m| done.contains(m))
            })
            .copied()
            .collect();
        assert!(!next.is_empty(), "a cycle");
        done.extend(next);
    }
    done
}

fn graph_of(
    edges: &BTreeMap<(String, String), BTreeSet<String>>,
) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut g: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b) in edges.keys() {
        g.entry(a.as_str()).or_default().insert(b.as_str());
    }
    g
}

#[test]
fn no_import_cycles_at_any_level() {
    let files = sources();
    assert!(files.len() > 50, "{} files", files.len());
    let edges = sibling_edges(&files);
    assert!(
        edges.contains_key(&Vec::new()),
        "no edges between top-level modules found"
    );
    let mut cycles = Vec::new();
    for (parent, e) in &edges {
        let g = graph_of(e);
        if let Some(c) = find_cycle(&g) {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| {
                    let files = &e[&(w[0].clone(), w[1].clone())];
                    format!(
                        "{} -> {} ({})",
                        w[0],
                        w[1],
                        files.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            cycles.push(format!("in {}: {}", display(parent), steps.join("; ")));
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    // Every allowance still closes a cycle's edge, or it goes.
    for (from, to, _) in ALLOWED {
        let used = files.iter().filter(|s| s.rel.starts_with(from)).any(|s| {
            references(s)
                .iter()
                .any(|r| r.join("::").starts_with(to) && !s.module.starts_with(&[to.to_string()]))
        });
        assert!(
            used,
            "ALLOWED ({from} -> {to}) is no longer used: remove it"
        );
    }
    let top = graph_of(&edges[&Vec::new()]);
    println!("top-level modules, each using only those before it:");
    for m in order(&top) {
        let uses: Vec<&str> = top.get(m).into_iter().flatten().copied().collect();
        println!("  {m:<12} {}", uses.join(" "));
    }
}

fn display(parent: &[String]) -> String {
    if parent.is_empty() {
        "crate".into()
    } else {
        parent.join("::")
    }
}

#[test]
fn only_cli_knows_clap_only_commands_report_and_commands_stand_alone() {
    let files = sources();
    let mut wrong = Vec::new();
    for s in &files {
        let top = s.module.first().map_or("", String::as_str);
        let front = top == "cli" || s.rel == "main.rs";
        let refs = references(s);
        if !front && (s.code.contains("clap::") || s.code.contains("use clap")) {
            wrong.push(format!("{}: knows clap", s.rel));
        }
        if !front && refs.iter().any(|r| r.first().is_some_and(|m| m == "cli")) {
            wrong.push(format!("{}: imports cli", s.rel));
        }
        // progress.rs draws the progress line on a terminal (not a
        // diagnostic); messages.rs is where reports go.
        let reports = front
            || top == "commands"
            || ["lib.rs", "messages.rs", "progress.rs"].contains(&s.rel.as_str());
        let prints = [
            "eprintln!",
            "println!",
            "eprint!",
            "print!",
            "stderr()",
            "dbg!",
            "note!",
            "warning!",
            "error!",
        ];
        let uses_messages = refs
            .iter()
            .any(|r| r.first().is_some_and(|m| m == "messages"));
        if !reports && (prints.iter().any(|p| s.code.contains(p)) || uses_messages) {
            wrong.push(format!("{}: reports", s.rel));
        }
        if let [c, verb, ..] = s.module.as_slice() {
            if c == "commands" && VERBS.contains(&verb.as_str()) {
                for r in &refs {
                    if let [c2, other, ..] = r.as_slice() {
                        if c2 == "commands" && other != verb && VERBS.contains(&other.as_str()) {
                            wrong.push(format!("{}: imports commands::{other}", s.rel));
                        }
                    }
                }
            }
        }
    }
    wrong.dedup();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_reader_sees_paths_groups_and_no_comments_or_tests() {
    let code = "use crate::a::{b::{C, d}, self, e as f};\n\
                // crate::commented::out\n\
                let s = \"crate::in_a_string\"; let c = '\"';\n\
                fn f() { super::super::g::h(); self::i::J; }\n\
                #[cfg(test)]\nmod tests { use crate::tested; }\n\
                #[cfg(test)]\nmod more;\n";
    let (code, test_mods) = drop_test_items(&strip_comments_and_literals(code));
    assert_eq!(test_mods, ["more"]);
    let s = Source {
        rel: "x/y/z.rs".into(),
        module: vec!["x".into(), "y".into(), "z".into()],
        code,
    };
    let got: BTreeSet<String> = references(&s).iter().map(|r| r.join("::")).collect();
    let want = [
        "a::b::C",
        "a::b::d",
        "a",
        "a::e",
        "x::g::h",
        "x::y::z::i::J",
    ];
    assert_eq!(got, want.iter().map(|s| s.to_string()).collect());
}
