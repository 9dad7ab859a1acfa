//! Integration tests: one binary, modules by area.

mod util;

mod cfn;
mod cli;
mod damaged;
mod generate;
mod hostile;
mod incident;
mod inputs;
mod inventory;
mod matching;
mod output;
mod parser;
mod properties;
mod query;
mod readme;
mod recommend;
mod regression;
mod rendered;
mod scans;
mod summarize;
mod templates;
mod top;
