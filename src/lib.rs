//! flowscope: fast AWS VPC flow-log analysis.
//!
//! Pipeline: `flowlog` (read and parse) → `engine` (parallel driver and
//! line accounting) → `aggregate` (group by interface, rule direction,
//! protocol, service port, action) → `inventory` (security groups,
//! interfaces, templates) → `matching` → `recommend` → `report`.
//!
//! On top: `cli` holds the flags (clap, the only module that knows it) and
//! turns them once into the plain settings of `config`; `commands` holds one
//! module per verb, run on those settings, and is the only layer that
//! reports (through `messages`); `main` maps the outcome to an exit status.
//! Leaf helpers: `time` (RFC 3339), `simd`, `progress`.

pub mod aggregate;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod flowlog;
pub mod generate;
pub mod interrupt;
pub mod inventory;
pub mod investigate;
pub mod matching;
pub mod messages;
pub mod progress;
pub mod recommend;
pub mod report;
pub mod simd;
pub mod source;
pub mod sql;
pub mod time;

/// Runs a command (`cli::Cli::into_config` makes one from the flags).
pub fn run(
    config: config::Config,
    status: &commands::RunStatus,
) -> anyhow::Result<commands::Outcome> {
    use config::Command;
    let s = commands::Session {
        color: config.color,
        wide: config.wide,
        status,
    };
    match config.command {
        Command::Summarize(a) => commands::summarize::run(&a, &s),
        Command::Recommend(a) => commands::recommend::run(&a, &s),
        Command::Generate(a) => commands::generate::run(&a),
        Command::Query(a) => commands::query::run(&a, &s),
        Command::Top(a) => commands::top::run(&a, &s),
        Command::Scans(a) => commands::scans::run(&a, &s),
        Command::Print(text) => write_stdout(&text),
    }
}

/// Writes generated text through `report::Output` (the generators panic
/// on a write error, so they write to memory first; `| head` stays quiet).
fn write_stdout(buf: &[u8]) -> anyhow::Result<commands::Outcome> {
    use std::io::Write;
    let mut out = report::Output::open(None)?;
    out.write_all(buf)?;
    out.finish()?;
    Ok(commands::Outcome::Clean)
}

/// xorshift64: the deterministic random inputs of the unit tests (a fixed
/// seed gives the same cases on every run, with no dependency).
#[cfg(test)]
pub(crate) struct XorShift(pub u64);

#[cfg(test)]
impl XorShift {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// IPv6-like tokens for the address parsers' tests against `std`, the
/// same on every run: random strings over the characters of addresses
/// (with `%`, `.` and a stray `g`), and random addresses with runs of zero
/// groups as std writes them (`::`), again in upper case and with groups
/// padded to four digits now and then.
#[cfg(test)]
pub(crate) fn ipv6_tokens(n: usize) -> Vec<String> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut next = || rng.next();
    let alphabet = b"0123456789abcdefABCDEF::::.g%";
    let mut toks = Vec::with_capacity(4 * n);
    for _ in 0..n {
        let len = next() % 42;
        toks.push(
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize] as char)
                .collect(),
        );
        let mut v = 0u128;
        for _ in 0..8 {
            let g = if next() % 3 == 0 { 0 } else { next() as u16 };
            v = v << 16 | g as u128;
        }
        let text = std::net::Ipv6Addr::from(v).to_string();
        toks.push(text.to_uppercase());
        let padded: Vec<String> = text
            .split(':')
            .map(|g| {
                if !g.is_empty() && next() % 2 == 0 {
                    format!("{g:0>4}")
                } else {
                    g.to_string()
                }
            })
            .collect();
        toks.push(padded.join(":"));
        toks.push(text);
    }
    toks
}

/// The layering, checked on the source: only `cli` (and `main`) know
/// clap, only the command layer reports, and commands do not import each
/// other. A clap import or a print slipped into a library module
/// fails here.
#[cfg(test)]
mod layering {
    use std::path::{Path, PathBuf};

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn only_cli_knows_clap_only_commands_report_and_commands_stand_alone() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        assert!(files.len() > 50, "{files:?}");
        let mut wrong = Vec::new();
        for f in &files {
            let rel = f
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(f).unwrap();
            // The code, not its unit tests (which may print, or name clap).
            let text = text.split("\n#[cfg(test)]\nmod ").next().unwrap();
            let front = rel.starts_with("cli/") || rel == "main.rs";
            if !front
                && ["use clap", "clap::", "crate::cli"]
                    .iter()
                    .any(|p| text.contains(p))
            {
                wrong.push(format!("{rel}: knows clap or cli"));
            }
            // progress.rs draws the progress line on a terminal (not a
            // diagnostic); recommend.rs is left to its own branch for now.
            let reports = front
                || rel.starts_with("commands/")
                || ["lib.rs", "messages.rs", "progress.rs"].contains(&rel.as_str());
            let prints = ["eprintln!(", "println!(", "eprint!(", "print!(", "stderr()"];
            if !reports && prints.iter().any(|p| text.contains(p)) {
                wrong.push(format!("{rel}: prints"));
            }
            if rel.starts_with("commands/") && rel != "commands/mod.rs" {
                let siblings = [
                    "generate",
                    "query",
                    "recommend",
                    "scans",
                    "summarize",
                    "top",
                ];
                for s in siblings {
                    if text.contains(&format!("commands::{s}::"))
                        || text.contains(&format!("super::{s}::"))
                    {
                        wrong.push(format!("{rel}: imports commands::{s}"));
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
