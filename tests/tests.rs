//! Integration tests: one binary, modules by area.

mod util;

mod damaged;
mod generate;
mod inventory;
mod output;
mod investigate;
mod properties;
mod recommend;
mod regression;
mod summarize;
