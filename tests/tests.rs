//! Integration tests: one binary, modules by area.

mod util;

mod generate;
mod inventory;
mod investigate;
mod recommend;
mod summarize;
