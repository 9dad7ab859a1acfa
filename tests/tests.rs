//! Integration tests: one binary, modules by area.

mod util;

mod damaged;
mod generate;
mod inputs;
mod inventory;
mod investigate;
mod properties;
mod recommend;
mod regression;
mod summarize;
