//! Reading VPC flow logs: formats (`format`), records (`record`), the
//! byte-level parser (`parse`) and inputs cut into chunks (`reader`),
//! small gzip files inflated whole (`whole`).
//!
//! Facts this module relies on (see DOMAIN.md): fields are space
//! separated; `-` means absent; S3 objects begin with a header line of
//! field names; NODATA/SKIPDATA records carry no traffic.

mod fast;
pub mod format;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod parse;
pub mod reader;
pub mod record;
pub mod sniff;
pub mod whole;

pub use format::{Field, Format};
pub use parse::{Parser, SkipReason};
pub use record::{Action, EniId, FlowRecord, Ip, LogStatus, PacketDirection};
