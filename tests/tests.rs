//! Integration tests: one binary, modules by area.

mod util;

mod inventory;
mod summarize;
