//! Integration tests: one binary, modules by area.

mod util;

mod cfn;
mod damaged;
mod generate;
mod inventory;
mod investigate;
mod properties;
mod recommend;
mod regression;
mod summarize;
