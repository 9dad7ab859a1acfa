//! flowscope: fast AWS VPC flow-log analysis.
//!
//! Pipeline: `source` (what to read: files, stdin, directories, S3) →
//! `flowlog` (open, decode and parse) → `engine` (parallel driver and
//! line accounting) → `aggregate` (group by interface, rule direction,
//! protocol, service port, action) → `recommend` (with `inventory`:
//! security groups, interfaces, templates, and `matching`) → `report`;
//! `investigate` (query, top, scans) and `generate` beside them.
//!
//! On top: `cli` holds the flags (clap, the only module that knows it) and
//! turns them once into the plain settings of `config`; `commands` holds one
//! module per verb, run on those settings, and is the only layer that
//! reports (through `messages`); `main` maps the outcome to an exit status.
//! Leaf helpers: `time` (RFC 3339), `text` (numbers and input in
//! messages), `interrupt` (stopping a run), `simd`, `progress`. No two
//! modules import each other (`layering`, a unit test, checks it).

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
pub mod text;
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

/// The layering (clap, reporting, import cycles), checked on the source.
#[cfg(test)]
mod layering;
