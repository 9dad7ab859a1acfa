//! Integration tests: one binary, modules by area.

mod util;

mod generate;
mod inventory;
mod recommend;
mod summarize;
