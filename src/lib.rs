//! flowscope: fast AWS VPC flow-log analysis.
//!
//! Pipeline: `flowlog` (read and parse) → `aggregate` (group by interface,
//! direction, protocol, service port, action) → `inventory` (security groups,
//! interfaces, templates) → `matching` → `recommend` → `report`.

pub mod generate;
pub mod inventory;
pub mod matching;
