//! The columns the parser interprets, resolved once per format
//! (`Parser::new`), and the default format's column list, which the v2
//! fast path (`v2`) decodes in straight-line code. A leaf: the general
//! parser (`mod.rs`) and both fast paths (`fast`, `v2`) depend on it.

/// Interpreted column kinds, resolved once per format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    Skip,
    Interface,
    Src,
    Dst,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    Status,
    TcpFlags,
    Direction,
    PktSrc,
    PktDst,
    /// `flows`: the records a pre-aggregated line stands for (at least 1).
    Flows,
    /// `pkt-src-aws-service`, `pkt-dst-aws-service`.
    SrcService,
    DstService,
}

/// The columns of the default format (`format::V2_FIELDS`, the v2 fields
/// of the one table of field names), which `v2::parse_v2` decodes.
pub(super) const V2: [Col; 14] = [
    Col::Skip,
    Col::Skip,
    Col::Interface,
    Col::Src,
    Col::Dst,
    Col::SrcPort,
    Col::DstPort,
    Col::Protocol,
    Col::Packets,
    Col::Bytes,
    Col::Start,
    Col::End,
    Col::Action,
    Col::Status,
];

#[cfg(test)]
mod tests {
    use super::super::Parser;
    use super::V2;
    use crate::flowlog::format::{Format, V2_FIELDS};

    /// `V2` is what the parser makes of the default format's fields, so
    /// that format takes the fast path (a mismatch would only be slower).
    #[test]
    fn v2_is_the_default_formats_columns() {
        let format = Format::default_v2();
        assert_eq!(format.columns(), &V2_FIELDS[..]);
        let p = Parser::new(&format);
        assert_eq!(p.cols, V2);
        assert!(p.v2);
    }
}
