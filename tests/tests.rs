//! Integration tests: one binary, modules by area.

mod util;

mod investigate;
mod summarize;
