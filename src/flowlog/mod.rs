//! Reading VPC flow logs, in the order the bytes travel:
//!
//! * `open`: an input's bytes, decoded (`sniff` tells gzip, zstd and
//!   text apart; `whole` inflates small gzip files at once);
//! * `reader`: those bytes cut into chunks of whole lines, header lines
//!   switching the `format`;
//! * `window` and `parse`: each line into a `record`, handed to a
//!   `process::Processor`, with every line counted in `accounting`.
//!
//! What to read (files, standard input, directories walked, S3 objects)
//! is `source::Input`, below this module. A new kind of input (S3,
//! Parquet, CloudWatch) is an `Input` variant there and an arm of
//! `open::Opened`: text for the reader and parser, or, as Parquet,
//! a reader that hands `FlowRecord`s to the processor itself.
//!
//! Facts this module relies on (see DOMAIN.md): fields are space
//! separated; `-` means absent; S3 objects begin with a header line of
//! field names; NODATA/SKIPDATA records carry no traffic.

pub mod accounting;
pub mod aws_service;
pub mod cloudwatch;
pub mod format;
pub mod open;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod parse;
pub mod process;
pub mod reader;
pub mod record;
pub mod sniff;
pub mod tgw;
pub mod whole;
mod window;

pub use aws_service::AwsService;
pub use format::{Field, Format};
pub use parse::{Parser, SkipReason};
pub use record::{Action, EniId, FlowRecord, Ip, LogStatus, PacketDirection};
