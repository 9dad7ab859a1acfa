//! Integration tests: one binary, modules by area.

mod util;

mod cfn;
mod cli;
mod cloudwatch;
mod damaged;
mod generate;
mod hostile;
mod html;
mod incident;
mod inputs;
mod inventory;
mod matching;
mod moto;
mod output;
#[cfg(feature = "parquet")]
mod parquet;
mod parser;
mod properties;
mod query;
mod readme;
mod recommend;
mod recommend_accounts;
mod recommend_apply;
mod recommend_destinations;
mod recommend_findings;
mod recommend_terraform;
mod regression;
mod rendered;
mod s3;
mod scans;
mod scans_agree;
mod spark;
mod summarize;
mod templates;
mod tgw;
mod top;
