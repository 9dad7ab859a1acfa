//! Integration tests: one binary, modules by area.

mod util;

mod cfn;
mod cli;
mod damaged;
mod generate;
mod inventory;
mod investigate;
mod output;
mod properties;
mod recommend;
mod regression;
mod summarize;
