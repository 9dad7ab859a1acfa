//! flowscope: fast AWS VPC flow-log analysis.
//!
//! Pipeline: `flowlog` (read and parse) → `engine` (parallel driver and
//! line accounting) → `aggregate` (group by interface, rule direction,
//! protocol, service port, action) → `inventory` (security groups,
//! interfaces, templates) → `matching` → `recommend` → `report`.
//! `commands` holds one module per CLI verb, run on the plain settings of
//! `config`; `cli` holds the flags (clap) and turns them into a `config`.

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
pub mod time;

/// Runs a command (`cli::Cli::into_config` makes one from the flags).
pub fn run(config: config::Config) -> anyhow::Result<commands::Outcome> {
    use config::Command;
    report::set_color_choice(config.color);
    report::set_wide(config.wide);
    match config.command {
        Command::Summarize(a) => commands::summarize::run(&a),
        Command::Recommend(a) => commands::recommend::run(&a),
        Command::Generate(a) => commands::generate::run(&a),
        Command::Query(a) => commands::query::run(&a),
        Command::Top(a) => commands::top::run(&a),
        Command::Scans(a) => commands::scans::run(&a),
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
