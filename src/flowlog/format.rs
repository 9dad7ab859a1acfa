//! Flow-log formats: the field names of every version and the column map
//! that one file (or `--format`) defines.
//!
//! A format is resolved once per file, from its header line, from
//! `--format`, or from the default v2 field list, never once per line.
//! Unknown field names are kept as opaque columns so that next year's
//! fields do not break today's parser.

use std::fmt;

/// A flow-log field. `Other` is any name we do not interpret (future
/// fields, tags): it still occupies a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    Version,
    AccountId,
    InterfaceId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    VpcId,
    SubnetId,
    InstanceId,
    TcpFlags,
    Type,
    PktSrcAddr,
    PktDstAddr,
    Region,
    AzId,
    SublocationType,
    SublocationId,
    PktSrcAwsService,
    PktDstAwsService,
    FlowDirection,
    TrafficPath,
    EcsClusterArn,
    EcsClusterName,
    EcsContainerInstanceArn,
    EcsContainerInstanceId,
    EcsContainerId,
    EcsSecondContainerId,
    EcsServiceName,
    EcsTaskDefinitionArn,
    EcsTaskArn,
    EcsTaskId,
    RejectReason,
    ResourceId,
    EncryptionStatus,
    /// `flows`: flowscope's own field, not AWS's. A line with it stands
    /// for that many records that differ only in their counters and times
    /// (a pre-aggregated log, `flowscope sql`): its packets and bytes are
    /// their sums, start and end their earliest and latest.
    Flows,
    /// A field only Transit Gateway flow logs have (their own table,
    /// `TGW_FIELDS`; what their records become is `flowlog::tgw`).
    Tgw(TgwField),
    /// A field this version of flowscope does not interpret.
    Other(String),
}

/// A known field: its name in text logs (hyphens), its column name in
/// Parquet logs (underscores, as AWS writes them with `file-format
/// parquet`, and as Athena and VRL spell it), and the flow-log version
/// that introduced it.
struct Known {
    field: Field,
    name: &'static str,
    parquet: &'static str,
    version: u8,
}

const fn known(field: Field, name: &'static str, parquet: &'static str, version: u8) -> Known {
    Known {
        field,
        name,
        parquet,
        version,
    }
}

/// Every known field, the one table of flow-log field names (DOMAIN.md
/// 1.2; v8+ numbering is uncertain upstream): the text parser, the Parquet
/// reader, the outputs and the generator all take names from here.
#[rustfmt::skip]
const KNOWN: &[Known] = &[
    known(Field::Version, "version", "version", 2),
    known(Field::AccountId, "account-id", "account_id", 2),
    known(Field::InterfaceId, "interface-id", "interface_id", 2),
    known(Field::SrcAddr, "srcaddr", "srcaddr", 2),
    known(Field::DstAddr, "dstaddr", "dstaddr", 2),
    known(Field::SrcPort, "srcport", "srcport", 2),
    known(Field::DstPort, "dstport", "dstport", 2),
    known(Field::Protocol, "protocol", "protocol", 2),
    known(Field::Packets, "packets", "packets", 2),
    known(Field::Bytes, "bytes", "bytes", 2),
    known(Field::Start, "start", "start", 2),
    known(Field::End, "end", "end", 2),
    known(Field::Action, "action", "action", 2),
    known(Field::LogStatus, "log-status", "log_status", 2),
    known(Field::VpcId, "vpc-id", "vpc_id", 3),
    known(Field::SubnetId, "subnet-id", "subnet_id", 3),
    known(Field::InstanceId, "instance-id", "instance_id", 3),
    known(Field::TcpFlags, "tcp-flags", "tcp_flags", 3),
    known(Field::Type, "type", "type", 3),
    known(Field::PktSrcAddr, "pkt-srcaddr", "pkt_srcaddr", 3),
    known(Field::PktDstAddr, "pkt-dstaddr", "pkt_dstaddr", 3),
    known(Field::Region, "region", "region", 4),
    known(Field::AzId, "az-id", "az_id", 4),
    known(Field::SublocationType, "sublocation-type", "sublocation_type", 4),
    known(Field::SublocationId, "sublocation-id", "sublocation_id", 4),
    known(Field::PktSrcAwsService, "pkt-src-aws-service", "pkt_src_aws_service", 5),
    known(Field::PktDstAwsService, "pkt-dst-aws-service", "pkt_dst_aws_service", 5),
    known(Field::FlowDirection, "flow-direction", "flow_direction", 5),
    known(Field::TrafficPath, "traffic-path", "traffic_path", 5),
    known(Field::EcsClusterArn, "ecs-cluster-arn", "ecs_cluster_arn", 7),
    known(Field::EcsClusterName, "ecs-cluster-name", "ecs_cluster_name", 7),
    known(Field::EcsContainerInstanceArn, "ecs-container-instance-arn", "ecs_container_instance_arn", 7),
    known(Field::EcsContainerInstanceId, "ecs-container-instance-id", "ecs_container_instance_id", 7),
    known(Field::EcsContainerId, "ecs-container-id", "ecs_container_id", 7),
    known(Field::EcsSecondContainerId, "ecs-second-container-id", "ecs_second_container_id", 7),
    known(Field::EcsServiceName, "ecs-service-name", "ecs_service_name", 7),
    known(Field::EcsTaskDefinitionArn, "ecs-task-definition-arn", "ecs_task_definition_arn", 7),
    known(Field::EcsTaskArn, "ecs-task-arn", "ecs_task_arn", 7),
    known(Field::EcsTaskId, "ecs-task-id", "ecs_task_id", 7),
    known(Field::RejectReason, "reject-reason", "reject_reason", 8),
    known(Field::ResourceId, "resource-id", "resource_id", 8),
    known(Field::EncryptionStatus, "encryption-status", "encryption_status", 8),
    // Not AWS's: flowscope's count of the records a pre-aggregated line
    // stands for (`sql`). Version 2 so that it never raises a format's.
    known(Field::Flows, "flows", "flows", 2),
];

/// The fields of the default (v2) format, in AWS's order (`DEFAULT_V2`).
pub const V2_FIELDS: [Field; 14] = [
    Field::Version,
    Field::AccountId,
    Field::InterfaceId,
    Field::SrcAddr,
    Field::DstAddr,
    Field::SrcPort,
    Field::DstPort,
    Field::Protocol,
    Field::Packets,
    Field::Bytes,
    Field::Start,
    Field::End,
    Field::Action,
    Field::LogStatus,
];

/// The default (v2) format, in AWS's order.
pub const DEFAULT_V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport \
protocol packets bytes start end action log-status";

impl Field {
    /// Looks a field up by its AWS name; underscores are accepted for
    /// hyphens (`log_status`), as Athena and VRL spell them.
    pub fn from_name(name: &[u8]) -> Option<Field> {
        if name.is_empty() || !name.iter().all(|&b| is_name_byte(b)) {
            return None;
        }
        let normal: String = name
            .iter()
            .map(|&b| {
                if b == b'_' {
                    '-'
                } else {
                    b.to_ascii_lowercase() as char
                }
            })
            .collect();
        if let Some(k) = KNOWN.iter().find(|k| k.name == normal) {
            return Some(k.field.clone());
        }
        if let Some(t) = TgwField::from_name(&normal) {
            return Some(Field::Tgw(t));
        }
        Some(Field::Other(normal))
    }

    /// True for names flowscope interprets (not `Other`).
    pub fn is_known(&self) -> bool {
        !matches!(self, Field::Other(_))
    }

    fn known(&self) -> Option<&'static Known> {
        KNOWN.iter().find(|k| k.field == *self)
    }

    /// The AWS (hyphenated) name, as in text logs and `--format`.
    pub fn name(&self) -> &str {
        match self {
            Field::Other(s) => s,
            Field::Tgw(t) => t.name(),
            f => f.known().map_or("?", |k| k.name),
        }
    }

    /// The column name in Parquet logs (underscores: `log_status`), also
    /// the key of JSON and CSV outputs.
    pub fn parquet_name(&self) -> std::borrow::Cow<'_, str> {
        match self.known() {
            Some(k) => k.parquet.into(),
            None => self.name().replace('-', "_").into(),
        }
    }

    /// The flow-log version that introduced the field (0 if unknown).
    pub fn min_version(&self) -> u8 {
        if let Field::Tgw(t) = self {
            return t.min_version();
        }
        self.known().map_or(0, |k| k.version)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
}

/// Why a format string or header could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the format is empty")]
    Empty,
    #[error("'{0}' is not a field name (expected names like srcaddr or ${{srcaddr}})")]
    BadToken(String),
    #[error("field '{0}' appears twice")]
    Duplicate(String),
    #[error("'{name}' is not a flow-log field: did you mean '{suggestion}'?")]
    Misspelt { name: String, suggestion: String },
    #[error("'{0}' is not a flow-log field (see the field list in `flowscope --help` or AWS's documentation)")]
    Unknown(String),
}

/// The columns of one flow-log format and, for each interpreted field,
/// its column index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    columns: Vec<Field>,
    /// Why a header line's format cannot be used (a field named twice):
    /// its parser rejects every line under it (`bad_header`) rather
    /// than guess which column is which.
    problem: Option<FormatError>,
    /// Whether a `flows` column makes each line stand for several records
    /// (`Field::Flows`): asked per record by the processors that refuse
    /// such lines, so decided once here.
    weighted: bool,
}

impl Format {
    /// The default v2 format.
    pub fn default_v2() -> Format {
        Format::parse(DEFAULT_V2).expect("the default format is valid")
    }

    /// Parses AWS's `${field} ${field}` syntax, or bare space-separated
    /// names as found in S3 header lines.
    pub fn parse(spec: &str) -> Result<Format, FormatError> {
        let mut columns = Vec::new();
        for tok in spec.split_ascii_whitespace() {
            let name = tok
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .unwrap_or(tok);
            let field = Field::from_name(name.as_bytes())
                .ok_or_else(|| FormatError::BadToken(tok.to_string()))?;
            if columns.contains(&field) {
                return Err(FormatError::Duplicate(field.name().to_string()));
            }
            columns.push(field);
        }
        if columns.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(Format {
            weighted: columns.contains(&Field::Flows),
            columns,
            problem: None,
        })
    }

    /// `parse` for a format the user typed (`--format`): a name that is
    /// not a known field is an error when it is a near miss of one
    /// (`acount-id`: "did you mean 'account-id'?") or does not look like
    /// a field name at all (`x`, `src.addr`); one that looks like a field
    /// AWS may add (lowercase words joined by hyphens) is kept as an
    /// opaque column, and returned so that the caller can warn.
    pub fn parse_typed(spec: &str) -> Result<(Format, Vec<String>), FormatError> {
        let format = Format::parse(spec)?;
        let mut unknown = Vec::new();
        for f in format.columns() {
            let Field::Other(name) = f else { continue };
            if let Some(s) = nearest_known(name) {
                return Err(FormatError::Misspelt {
                    name: name.clone(),
                    suggestion: s.to_string(),
                });
            }
            if !plausible_field_name(name) {
                return Err(FormatError::Unknown(name.clone()));
            }
            unknown.push(name.clone());
        }
        Ok((format, unknown))
    }

    /// Recognises a header line: every token a field name, the first one
    /// a known field. Data lines never qualify: their first token is a
    /// number, an id with digits, or a value like `ACCEPT`. A header line
    /// that names a field twice is one, but unusable (`problem`).
    pub fn from_header_line(line: &[u8]) -> Option<Format> {
        let line = trim_line(line);
        let first = line.split(|&b| b == b' ').find(|t| !t.is_empty())?;
        if !Field::from_name(first)?.is_known() {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?;
        match Format::parse(text) {
            // A Transit Gateway flow log's header (`resource-type` or
            // `version` first) is one like any other: its TGW fields are
            // known (`Field::Tgw`), and its parser reads them (`tgw`).
            Ok(f) => Some(f),
            Err(FormatError::Duplicate(name)) => {
                let columns = text
                    .split_ascii_whitespace()
                    .map(|t| Field::from_name(t.as_bytes()))
                    .collect::<Option<Vec<_>>>()?;
                Some(Format {
                    weighted: columns.contains(&Field::Flows),
                    columns,
                    problem: Some(FormatError::Duplicate(name)),
                })
            }
            Err(_) => None,
        }
    }

    /// Why this format (a header line's) cannot be used, if it cannot.
    pub fn problem(&self) -> Option<&FormatError> {
        self.problem.as_ref()
    }

    /// The fields a traffic record needs that this format lacks
    /// (addresses and protocol): records read with it have no value
    /// there, which reports must not fill in.
    pub fn missing_traffic_fields(&self) -> Vec<&'static str> {
        [
            (Field::SrcAddr, "srcaddr"),
            (Field::DstAddr, "dstaddr"),
            (Field::Protocol, "protocol"),
        ]
        .into_iter()
        .filter(|(f, _)| !self.has(f))
        .map(|(_, n)| n)
        .collect()
    }

    /// The columns in order.
    pub fn columns(&self) -> &[Field] {
        &self.columns
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Always false: a format has at least one column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Column index of a field, if the format has it.
    pub fn index_of(&self, field: &Field) -> Option<usize> {
        self.columns.iter().position(|f| f == field)
    }

    /// True if the format has the field.
    pub fn has(&self, field: &Field) -> bool {
        self.index_of(field).is_some()
    }

    /// True when the format has a `flows` column (`Field::Flows`): its
    /// lines are pre-aggregated, each standing for `flows` records.
    pub fn is_weighted(&self) -> bool {
        self.weighted
    }

    /// The flow-log version implied by the fields (the highest of them).
    pub fn version(&self) -> u8 {
        self.columns
            .iter()
            .map(Field::min_version)
            .max()
            .unwrap_or(2)
    }

    /// The header line AWS would write for this format.
    pub fn header(&self) -> String {
        self.columns
            .iter()
            .map(Field::name)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The known field `name` is a near miss of (a typo: at most one edit in
/// a short name, two in a long one), if there is one.
fn nearest_known(name: &str) -> Option<&'static str> {
    let limit = if name.len() <= 5 { 1 } else { 2 };
    KNOWN
        .iter()
        .map(|k| k.name)
        .chain(TgwField::names())
        .map(|n| (edit_distance(name.as_bytes(), n.as_bytes()), n))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

/// Levenshtein distance, with a swap of two neighbours counted as one
/// edit (`acocunt`).
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// A name AWS could add as a field: lowercase words of letters and
/// digits joined by single hyphens, starting with a letter, at least
/// three bytes (`next-hop-id`; not `x`, `a--b` or `2nd`).
fn plausible_field_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_lowercase()
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Strips a trailing `\n` and `\r`.
pub fn trim_line(mut line: &[u8]) -> &[u8] {
    if let [rest @ .., b'\n'] = line {
        line = rest;
    }
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    line
}

/// A field only Transit Gateway flow logs have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TgwField {
    ResourceType,
    TgwId,
    AttachmentId,
    SrcVpcAccountId,
    DstVpcAccountId,
    SrcVpcId,
    DstVpcId,
    SrcSubnetId,
    DstSubnetId,
    SrcEni,
    DstEni,
    SrcAzId,
    DstAzId,
    PairAttachmentId,
    LostNoRoute,
    LostBlackhole,
    LostMtuExceeded,
    LostTtlExpired,
}

/// The TGW-only fields with their AWS names; all came with version 6.
const TGW_FIELDS: &[(TgwField, &str)] = &[
    (TgwField::ResourceType, "resource-type"),
    (TgwField::TgwId, "tgw-id"),
    (TgwField::AttachmentId, "tgw-attachment-id"),
    (TgwField::SrcVpcAccountId, "tgw-src-vpc-account-id"),
    (TgwField::DstVpcAccountId, "tgw-dst-vpc-account-id"),
    (TgwField::SrcVpcId, "tgw-src-vpc-id"),
    (TgwField::DstVpcId, "tgw-dst-vpc-id"),
    (TgwField::SrcSubnetId, "tgw-src-subnet-id"),
    (TgwField::DstSubnetId, "tgw-dst-subnet-id"),
    (TgwField::SrcEni, "tgw-src-eni"),
    (TgwField::DstEni, "tgw-dst-eni"),
    (TgwField::SrcAzId, "tgw-src-az-id"),
    (TgwField::DstAzId, "tgw-dst-az-id"),
    (TgwField::PairAttachmentId, "tgw-pair-attachment-id"),
    (TgwField::LostNoRoute, "packets-lost-no-route"),
    (TgwField::LostBlackhole, "packets-lost-blackhole"),
    (TgwField::LostMtuExceeded, "packets-lost-mtu-exceeded"),
    (TgwField::LostTtlExpired, "packets-lost-ttl-expired"),
];

impl TgwField {
    /// Looks a (normalised: lowercase, hyphens) name up.
    pub fn from_name(normal: &str) -> Option<TgwField> {
        TGW_FIELDS
            .iter()
            .find(|(_, n)| *n == normal)
            .map(|(f, _)| *f)
    }

    /// The AWS name.
    pub fn name(self) -> &'static str {
        TGW_FIELDS
            .iter()
            .find(|(f, _)| *f == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// The version that introduced every TGW-only field.
    pub fn min_version(self) -> u8 {
        6
    }

    /// Every TGW-only name (for "did you mean" in typed formats).
    pub fn names() -> impl Iterator<Item = &'static str> {
        TGW_FIELDS.iter().map(|(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one table's spellings agree: the default format's text is its
    /// field list, every Parquet name is the text name with underscores
    /// (AWS's rule) and reads back as its field, and no name is listed
    /// twice.
    #[test]
    fn the_field_table_is_consistent() {
        let names: Vec<&str> = V2_FIELDS.iter().map(|f| f.name()).collect();
        assert_eq!(names.join(" "), DEFAULT_V2);
        let mut seen = std::collections::HashSet::new();
        for k in KNOWN {
            assert_eq!(k.parquet, k.name.replace('-', "_"), "{}", k.name);
            assert_eq!(k.field.parquet_name(), k.parquet);
            assert_eq!(
                Field::from_name(k.parquet.as_bytes()),
                Some(k.field.clone())
            );
            assert_eq!(Field::from_name(k.name.as_bytes()), Some(k.field.clone()));
            assert!(seen.insert(k.name), "{} twice", k.name);
        }
        assert_eq!(Field::Other("x-y".into()).parquet_name(), "x_y");
    }

    #[test]
    fn default_format_has_14_columns_in_order() {
        let f = Format::default_v2();
        assert_eq!(f.len(), 14);
        assert_eq!(f.index_of(&Field::InterfaceId), Some(2));
        assert_eq!(f.index_of(&Field::LogStatus), Some(13));
        assert_eq!(f.version(), 2);
    }

    #[test]
    fn aws_syntax_and_underscores() {
        let f = Format::parse("${version} ${vpc-id} ${tcp_flags} ${flow-direction}").unwrap();
        assert_eq!(f.columns()[2], Field::TcpFlags);
        assert_eq!(f.version(), 5);
        assert_eq!(f.header(), "version vpc-id tcp-flags flow-direction");
    }

    #[test]
    fn unknown_fields_are_kept() {
        let f = Format::parse("version next-hop-vpc-id srcaddr").unwrap();
        assert_eq!(f.columns()[1], Field::Other("next-hop-vpc-id".into()));
    }

    #[test]
    fn bad_formats_are_rejected() {
        assert_eq!(Format::parse("  "), Err(FormatError::Empty));
        assert!(matches!(
            Format::parse("version SRC.ADDR"),
            Err(FormatError::BadToken(_))
        ));
        assert!(matches!(
            Format::parse("srcaddr srcaddr"),
            Err(FormatError::Duplicate(_))
        ));
    }

    #[test]
    fn typed_formats_catch_typos() {
        let e = Format::parse_typed("${version} ${acount-id} ${srcaddr}").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'acount-id' is not a flow-log field: did you mean 'account-id'?"
        );
        assert!(matches!(
            Format::parse_typed("srcadr dstaddr"),
            Err(FormatError::Misspelt { .. })
        ));
        assert!(matches!(
            Format::parse_typed("srcaddr x"),
            Err(FormatError::Unknown(_))
        ));
        let (f, unknown) = Format::parse_typed("srcaddr next-hop-vpc-id").unwrap();
        assert_eq!((f.len(), unknown), (2, vec!["next-hop-vpc-id".to_string()]));
        assert_eq!(edit_distance(b"acocunt-id", b"account-id"), 1);
    }

    #[test]
    fn a_header_naming_a_field_twice_is_unusable() {
        let f = Format::from_header_line(b"version srcaddr srcaddr bytes").unwrap();
        assert_eq!(f.problem(), Some(&FormatError::Duplicate("srcaddr".into())));
        assert!(Format::from_header_line(b"version srcaddr")
            .unwrap()
            .problem()
            .is_none());
    }

    #[test]
    fn header_detection() {
        assert!(Format::from_header_line(b"version account-id interface-id\r\n").is_some());
        assert!(Format::from_header_line(b"account-id bytes dstaddr").is_some());
        assert!(
            Format::from_header_line(b"2 123456789010 eni-1 - - - - - - - 1 2 - NODATA").is_none()
        );
        assert!(Format::from_header_line(b"eni-0a1b srcaddr").is_none());
        assert!(Format::from_header_line(b"unknown 10.0.0.1").is_none());
        assert!(Format::from_header_line(b"").is_none());
    }
}
