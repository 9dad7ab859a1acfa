//! Incident investigation: record filters (`filter`), flag value parsing
//! (`parse`), per-interval counts (`timeline`), record printing
//! (`render`), top talkers (`top`) and scan detection (`scans`). The
//! commands in `commands::{query, top, scans}` wire these to the engine.

pub mod filter;
pub mod parse;
pub mod render;
pub mod scans;
pub mod timeline;
pub mod top;

pub use filter::{Filter, FilterSpec};
pub use timeline::Timeline;
