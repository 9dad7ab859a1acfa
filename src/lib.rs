//! flowscope: fast AWS VPC flow-log analysis.
//!
//! Pipeline: `flowlog` (read and parse) → `engine` (parallel driver and
//! line accounting) → `aggregate` (group by interface, rule direction,
//! protocol, service port, action) → `inventory` (security groups,
//! interfaces, templates) → `matching` → `recommend` → `report`.
//! `commands` holds one module per CLI verb; `cli` the flags.

pub mod aggregate;
pub mod cli;
pub mod commands;
pub mod engine;
pub mod flowlog;
pub mod generate;
pub mod inventory;
pub mod investigate;
pub mod matching;
pub mod progress;
pub mod recommend;
pub mod report;
pub mod simd;
pub mod source;

/// Runs a parsed command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<commands::Outcome> {
    report::set_color_choice(cli.color);
    report::set_wide(cli.wide);
    match cli.command {
        cli::Command::Summarize(a) => commands::summarize::run(&a),
        cli::Command::Recommend(a) => commands::recommend::run(&a),
        cli::Command::Generate(a) => generate::run(&a).map(|()| commands::Outcome::Clean),
        cli::Command::Query(a) => commands::query::run(&a),
        cli::Command::Top(a) => commands::top::run(&a),
        cli::Command::Scans(a) => commands::scans::run(&a),
        cli::Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cli::command(), "flowscope", &mut buf);
            write_stdout(&buf)
        }
        cli::Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cli::command()).render(&mut buf)?;
            write_stdout(&buf)
        }
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
