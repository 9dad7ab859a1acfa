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
}

/// The columns of the default format (v2: `version account-id
/// interface-id srcaddr dstaddr srcport dstport protocol packets bytes
/// start end action log-status`), which `v2::parse_v2` decodes.
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
