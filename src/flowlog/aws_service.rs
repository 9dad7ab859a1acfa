//! v5's `pkt-src-aws-service` and `pkt-dst-aws-service` as a record
//! carries them: a one-byte code for a name of AWS's short list (the
//! `ip-ranges.json` subsets the flow-log documentation names), so a
//! record stays `Copy` and parsing them allocates nothing.
//!
//! A value not on the list (a service AWS added since, or junk) is
//! `AwsService::OTHER`: its text is not in the record but in the line
//! the record came with. The text parser always has that line; the
//! Parquet reader renders one for such a record, as it does for an
//! interface id that is not a plain `eni-` id. `ServiceTap` (recommend)
//! reads the text from there, so no name is lost.

/// The names a code stands for, sorted (searched by `from_bytes`). From
/// the flow-log records documentation's list of possible values, and the
/// `ip-ranges.json` subsets added since.
const NAMES: [&str; 26] = [
    "AMAZON",
    "AMAZON_APPFLOW",
    "AMAZON_CONNECT",
    "API_GATEWAY",
    "AURORA_DSQL",
    "CHIME_MEETINGS",
    "CHIME_VOICECONNECTOR",
    "CLOUD9",
    "CLOUDFRONT",
    "CLOUDFRONT_ORIGIN_FACING",
    "CODEBUILD",
    "DYNAMODB",
    "EBS",
    "EC2",
    "EC2_INSTANCE_CONNECT",
    "GLOBALACCELERATOR",
    "IVS_LOW_LATENCY",
    "IVS_REALTIME",
    "KINESIS_VIDEO_STREAMS",
    "MEDIA_PACKAGE_V2",
    "ROUTE53",
    "ROUTE53_HEALTHCHECKS",
    "ROUTE53_HEALTHCHECKS_PUBLISHING",
    "ROUTE53_RESOLVER",
    "S3",
    "WORKSPACES_GATEWAYS",
];

/// An AWS service name of a flow-log record: none (`-`, or a format
/// without the field), one of `NAMES`, or another value (`OTHER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AwsService(u8);

impl AwsService {
    /// No service: `-`, or no such column.
    pub const NONE: AwsService = AwsService(0);
    /// A value not in the list: its text is in the record's line.
    pub const OTHER: AwsService = AwsService(u8::MAX);

    /// The code of a field's text. Never fails: a value not in the list
    /// is `OTHER`.
    #[inline]
    pub fn from_bytes(tok: &[u8]) -> AwsService {
        if tok == b"-" || tok.is_empty() {
            return AwsService::NONE;
        }
        match NAMES.binary_search_by(|n| n.as_bytes().cmp(tok)) {
            Ok(i) => AwsService(i as u8 + 1),
            Err(_) => AwsService::OTHER,
        }
    }

    /// The name, for a service of the list.
    pub fn name(self) -> Option<&'static str> {
        NAMES.get((self.0 as usize).wrapping_sub(1)).copied()
    }

    /// True for a value not in the list (`OTHER`).
    pub fn is_other(self) -> bool {
        self == AwsService::OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_others_are_told_apart() {
        assert!(NAMES.windows(2).all(|w| w[0] < w[1]), "sorted, no twice");
        for n in NAMES {
            let s = AwsService::from_bytes(n.as_bytes());
            assert_eq!(s.name(), Some(n));
            assert!(!s.is_other() && s != AwsService::NONE);
        }
        for none in [&b"-"[..], b""] {
            assert_eq!(AwsService::from_bytes(none), AwsService::NONE);
        }
        assert_eq!(AwsService::NONE.name(), None);
        for other in [&b"BEDROCK"[..], b"s3", b"S3 ", b"AMAZONX", b"\xff"] {
            let s = AwsService::from_bytes(other);
            assert!(s.is_other(), "{other:?}");
            assert_eq!(s.name(), None);
        }
    }
}
