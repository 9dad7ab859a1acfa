//! `flowscope generate`: writes the dataset (`generate`), then says what
//! was written on stderr.

use anyhow::Result;

use super::Outcome;
use crate::generate::{self, GenerateOptions};

pub fn run(args: &GenerateOptions) -> Result<Outcome> {
    let summary = generate::run(args)?;
    crate::messages::line(format_args!("{summary}"));
    Ok(Outcome::Clean)
}
