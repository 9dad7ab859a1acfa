//! Record filters shared by `query`, `top` and `scans`: what to filter on
//! (`FilterSpec`) and its compiled, allocation-free form (`Filter`).
//!
//! Flags combine with AND; a repeated flag is an OR of its values.
//! Addresses and CIDR blocks are precomputed as inclusive `u128` ranges in
//! the `Ip` form (IPv4 mapped), so a test is two integer comparisons.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::parse::{parse_addr_range, parse_port_range};
use crate::engine::RecordCtx;
use crate::flowlog::format::Field;
use crate::flowlog::format::TgwField;
use crate::flowlog::record::{Action, EniId, FlowRecord, Ip, LogStatus};

/// An inclusive range of addresses (`Ip` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrRange {
    pub lo: u128,
    pub hi: u128,
}

impl AddrRange {
    #[inline]
    pub fn contains(&self, ip: Ip) -> bool {
        self.lo <= ip.0 && ip.0 <= self.hi
    }
}

/// `ADDR` or `CIDR` → its range of addresses.
pub fn addr_range(s: &str) -> Result<AddrRange, String> {
    parse_addr_range(s).map(|(lo, hi)| AddrRange { lo, hi })
}

/// An inclusive range of ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

/// `PORT` or `LO-HI` → its range.
pub fn port_range(s: &str) -> Result<PortRange, String> {
    parse_port_range(s).map(|(lo, hi)| PortRange { lo, hi })
}

/// What to filter on, as given (`query`, `top` and `scans` take it from
/// their flags): different fields AND, the values of one field OR.
#[derive(Debug, Clone, Default)]
pub struct FilterSpec {
    /// Either side (srcaddr or dstaddr).
    pub addr: Vec<AddrRange>,
    pub src: Vec<AddrRange>,
    pub dst: Vec<AddrRange>,
    /// Interface ids.
    pub eni: Vec<String>,
    /// Either side (srcport or dstport).
    pub port: Vec<PortRange>,
    pub sport: Vec<PortRange>,
    pub dport: Vec<PortRange>,
    /// IANA protocol numbers.
    pub protocol: Vec<u8>,
    pub action: Option<Action>,
    /// Records that end at or after this time (epoch seconds).
    pub since: Option<u64>,
    /// Records that start at or before this time (epoch seconds).
    pub until: Option<u64>,
    /// Raw columns, matched as text (`vpc` and `subnet` also on either
    /// side of a Transit Gateway record: `tgw-src-vpc-id`/`tgw-dst-vpc-id`).
    pub vpc: Vec<String>,
    pub subnet: Vec<String>,
    pub instance: Vec<String>,
}

/// A filter on a raw column (matched as text).
#[derive(Debug)]
struct RawFilter {
    /// The column named in the warning about formats without any of `fields`.
    field: Field,
    /// The columns that may hold the value, any one matching: `field`, and
    /// for --vpc/--subnet the two sides of a Transit Gateway record (a TGW
    /// format has no `vpc-id`/`subnet-id`, so a VPC filter on it would
    /// otherwise match nothing).
    fields: Vec<Field>,
    flag: &'static str,
    values: Vec<Vec<u8>>,
    /// Files whose format lacks the field, for `Filter::diagnostics`
    /// (workers never print: the command does, after the run).
    missing: Mutex<BTreeSet<Arc<str>>>,
    /// Address of the file last added to `missing`: the records of one
    /// file skip the lock.
    last_missing: AtomicUsize,
}

/// Compiled filters; shared by all workers.
#[derive(Debug, Default)]
pub struct Filter {
    addr: Vec<AddrRange>,
    src: Vec<AddrRange>,
    dst: Vec<AddrRange>,
    eni: Vec<EniId>,
    port: Vec<PortRange>,
    sport: Vec<PortRange>,
    dport: Vec<PortRange>,
    protocol: Vec<u8>,
    action: Option<Action>,
    since: Option<u64>,
    until: Option<u64>,
    raw: Vec<RawFilter>,
    /// Pass NODATA/SKIPDATA records (they can match only --eni, the time
    /// window and the raw-column filters).
    pub include_nodata: bool,
}

impl Filter {
    /// Compiles the flags. Fails when --since is after --until.
    pub fn new(a: &FilterSpec) -> Result<Filter, String> {
        if let (Some(s), Some(u)) = (a.since, a.until) {
            if s > u {
                return Err("--since is after --until".into());
            }
        }
        let raw = [
            (
                vec![
                    Field::VpcId,
                    Field::Tgw(TgwField::SrcVpcId),
                    Field::Tgw(TgwField::DstVpcId),
                ],
                "--vpc",
                &a.vpc,
            ),
            (
                vec![
                    Field::SubnetId,
                    Field::Tgw(TgwField::SrcSubnetId),
                    Field::Tgw(TgwField::DstSubnetId),
                ],
                "--subnet",
                &a.subnet,
            ),
            (vec![Field::InstanceId], "--instance", &a.instance),
        ]
        .into_iter()
        .filter(|(_, _, v)| !v.is_empty())
        .map(|(fields, flag, v)| RawFilter {
            field: fields[0].clone(),
            fields,
            flag,
            values: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            missing: Mutex::default(),
            last_missing: AtomicUsize::new(0),
        })
        .collect();
        Ok(Filter {
            addr: a.addr.clone(),
            src: a.src.clone(),
            dst: a.dst.clone(),
            eni: a
                .eni
                .iter()
                .map(|e| EniId::from_bytes(e.as_bytes()))
                .collect(),
            port: a.port.clone(),
            sport: a.sport.clone(),
            dport: a.dport.clone(),
            protocol: a.protocol.clone(),
            action: a.action,
            since: a.since,
            until: a.until,
            raw,
            include_nodata: false,
        })
    }

    /// True when matching reads a record's line (the raw-column filters):
    /// `Processor::wants_lines`.
    pub fn needs_lines(&self) -> bool {
        !self.raw.is_empty()
    }

    /// True when the filters need traffic fields (addresses, ports,
    /// protocol, action) that NODATA/SKIPDATA records do not have.
    fn needs_traffic(&self) -> bool {
        !(self.addr.is_empty()
            && self.src.is_empty()
            && self.dst.is_empty()
            && self.port.is_empty()
            && self.sport.is_empty()
            && self.dport.is_empty()
            && self.protocol.is_empty()
            && self.action.is_none())
    }

    /// True when the record passes every filter.
    #[inline]
    pub fn matches(&self, rec: &FlowRecord, ctx: &RecordCtx<'_>) -> bool {
        if rec.status != LogStatus::Ok && (!self.include_nodata || self.needs_traffic()) {
            return false;
        }
        // First, so a format without the field is reported whatever else is asked.
        if !self.raw.is_empty() && !self.raw.iter().all(|f| self.format_has(f, ctx)) {
            return false;
        }
        if !self.eni.is_empty() && !self.eni.contains(&rec.interface) {
            return false;
        }
        if let Some(a) = self.action {
            if rec.action != a {
                return false;
            }
        }
        if !self.protocol.is_empty() && !rec.protocol.is_some_and(|p| self.protocol.contains(&p)) {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let (Some(s), Some(e)) = (rec.start.or(rec.end), rec.end.or(rec.start)) else {
                return false;
            };
            if self.since.is_some_and(|since| e < since) || self.until.is_some_and(|u| s > u) {
                return false;
            }
        }
        let in_any = |ranges: &[AddrRange], ip: Option<Ip>| {
            ip.is_some_and(|ip| ranges.iter().any(|r| r.contains(ip)))
        };
        if !self.addr.is_empty()
            && !in_any(&self.addr, rec.srcaddr)
            && !in_any(&self.addr, rec.dstaddr)
        {
            return false;
        }
        if !self.src.is_empty() && !in_any(&self.src, rec.srcaddr) {
            return false;
        }
        if !self.dst.is_empty() && !in_any(&self.dst, rec.dstaddr) {
            return false;
        }
        let port_in = |ranges: &[PortRange], p: Option<u16>| {
            p.is_some_and(|p| ranges.iter().any(|r| r.contains(p)))
        };
        if !self.port.is_empty()
            && !port_in(&self.port, rec.srcport)
            && !port_in(&self.port, rec.dstport)
        {
            return false;
        }
        if !self.sport.is_empty() && !port_in(&self.sport, rec.srcport) {
            return false;
        }
        if !self.dport.is_empty() && !port_in(&self.dport, rec.dstport) {
            return false;
        }
        self.raw.iter().all(|f| self.raw_matches(f, ctx))
    }

    /// True if the record's format has one of the filter's fields; if not,
    /// notes the file for `diagnostics`.
    #[cold]
    fn format_has(&self, f: &RawFilter, ctx: &RecordCtx<'_>) -> bool {
        if f.fields.iter().any(|field| ctx.format.has(field)) {
            return true;
        }
        let addr = Arc::as_ptr(ctx.file) as *const u8 as usize;
        if f.last_missing.swap(addr, Ordering::Relaxed) != addr {
            if let Ok(mut m) = f.missing.lock() {
                if !m.contains(ctx.file) {
                    m.insert(ctx.file.clone());
                }
            }
        }
        false
    }

    /// Warnings gathered while matching (a filter on a column some files'
    /// format lacks), one per filter flag, files in name order so the text
    /// does not depend on the thread count. For the command to print.
    pub fn diagnostics(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.raw {
            let Ok(m) = f.missing.lock() else { continue };
            let files: Vec<&str> = m.iter().map(|s| &**s).collect();
            match files.as_slice() {
                [] => {}
                [one] => out.push(format!(
                    "{}: {one} has no {} field; its records match nothing for this filter",
                    f.flag, f.field
                )),
                many => {
                    const SHOWN: usize = 3;
                    let more = many.len().saturating_sub(SHOWN);
                    out.push(format!(
                        "{}: {} files have no {} field ({}{}); their records match nothing for this filter",
                        f.flag,
                        many.len(),
                        f.field,
                        many[..many.len().min(SHOWN)].join(", "),
                        if more > 0 { format!(" and {more} more") } else { String::new() }
                    ))
                }
            }
        }
        out
    }

    #[cold]
    fn raw_matches(&self, f: &RawFilter, ctx: &RecordCtx<'_>) -> bool {
        f.fields
            .iter()
            .filter_map(|field| ctx.format.index_of(field))
            .filter_map(|col| column(ctx.line, col))
            .any(|v| f.values.iter().any(|x| x == v))
    }
}

/// The `col`-th space-separated token of a line (runs of spaces count as one).
pub fn column(line: &[u8], col: usize) -> Option<&[u8]> {
    tokens(line).nth(col)
}

/// The space-separated tokens of a line, without a trailing `\r`.
pub fn tokens(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let line = match line {
        [rest @ .., b'\r'] => rest,
        l => l,
    };
    line.split(|&b| b == b' ').filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::format::Format;
    use crate::flowlog::parse::Parser;
    use std::sync::Arc;

    fn check(args: &FilterSpec, fmt: &str, line: &str) -> bool {
        let format = Format::parse(fmt).unwrap();
        let rec = Parser::new(&format).parse(line.as_bytes()).unwrap();
        let file: Arc<str> = "f".into();
        let ctx = RecordCtx {
            file: &file,
            line_no: 1,
            line: line.as_bytes(),
            format: &format,
        };
        Filter::new(args).unwrap().matches(&rec, &ctx)
    }

    const V2: &str = crate::flowlog::format::DEFAULT_V2;
    const L: &str = "2 1 eni-0a 10.0.1.10 198.51.100.77 40000 443 6 10 5000 100 160 ACCEPT OK";

    #[test]
    fn combined_filters() {
        let mut a = FilterSpec::default();
        assert!(check(&a, V2, L));
        a.addr = vec![addr_range("198.51.100.0/24").unwrap()];
        assert!(check(&a, V2, L));
        a.src = vec![addr_range("198.51.100.0/24").unwrap()];
        assert!(!check(&a, V2, L));
        a.src = vec![
            addr_range("10.0.0.0/8").unwrap(),
            addr_range("1.1.1.1").unwrap(),
        ];
        assert!(check(&a, V2, L));
        a.port = vec![port_range("400-450").unwrap()];
        assert!(check(&a, V2, L));
        a.dport = vec![port_range("40000").unwrap()];
        assert!(!check(&a, V2, L));
        a.dport.clear();
        a.sport = vec![port_range("40000").unwrap()];
        assert!(check(&a, V2, L));
        a.protocol = vec![17];
        assert!(!check(&a, V2, L));
        a.protocol = vec![17, 6];
        assert!(check(&a, V2, L));
        a.action = Some(Action::Reject);
        assert!(!check(&a, V2, L));
        a.action = Some(Action::Accept);
        a.eni = vec!["eni-0a".into()];
        assert!(check(&a, V2, L));
        a.eni = vec!["eni-00a".into()];
        assert!(!check(&a, V2, L));
    }

    #[test]
    fn time_window_overlap() {
        let mut a = FilterSpec {
            since: Some(150),
            ..Default::default()
        };
        assert!(check(&a, V2, L)); // ends at 160
        a.since = Some(161);
        assert!(!check(&a, V2, L));
        a.since = None;
        a.until = Some(100);
        assert!(check(&a, V2, L)); // starts at 100
        a.until = Some(99);
        assert!(!check(&a, V2, L));
        assert!(Filter::new(&FilterSpec {
            since: Some(5),
            until: Some(4),
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn nodata_matches_only_what_it_can() {
        let nodata = "2 1 eni-0a - - - - - - - 100 160 - NODATA";
        let args = FilterSpec {
            eni: vec!["eni-0a".into()],
            ..Default::default()
        };
        let format = Format::default_v2();
        let rec = Parser::new(&format).parse(nodata.as_bytes()).unwrap();
        let file: Arc<str> = "f".into();
        let ctx = RecordCtx {
            file: &file,
            line_no: 1,
            line: nodata.as_bytes(),
            format: &format,
        };
        let mut f = Filter::new(&args).unwrap();
        assert!(!f.matches(&rec, &ctx));
        f.include_nodata = true;
        assert!(f.matches(&rec, &ctx));
        let mut f = Filter::new(&FilterSpec {
            port: vec![port_range("443").unwrap()],
            ..args
        })
        .unwrap();
        f.include_nodata = true;
        assert!(!f.matches(&rec, &ctx));
    }

    #[test]
    fn raw_columns() {
        let fmt = "version vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
        let line =
            "3 vpc-0abc eni-0a 10.0.1.10 198.51.100.77 40000 443 6 10 5000 100 160 ACCEPT OK";
        let mut a = FilterSpec {
            vpc: vec!["vpc-0abc".into()],
            ..Default::default()
        };
        assert!(check(&a, fmt, line));
        a.vpc = vec!["vpc-0ab".into()];
        assert!(!check(&a, fmt, line));
        a.vpc = vec!["vpc-0abc".into()];
        assert!(!check(&a, V2, L), "format without vpc-id matches nothing");
        // Reported as a diagnostic, not printed by the worker.
        let format = Format::default_v2();
        let rec = Parser::new(&format).parse(L.as_bytes()).unwrap();
        let f = Filter::new(&a).unwrap();
        for name in ["b.log", "a.log", "b.log"] {
            let file: Arc<str> = name.into();
            let ctx = RecordCtx {
                file: &file,
                line_no: 1,
                line: L.as_bytes(),
                format: &format,
            };
            assert!(!f.matches(&rec, &ctx));
        }
        assert_eq!(
            f.diagnostics(),
            vec!["--vpc: 2 files have no vpc-id field (a.log, b.log); their records match nothing for this filter"]
        );
        assert_eq!(column(b"a  b c\r", 1), Some(&b"b"[..]));
        assert_eq!(column(b"a b c\r", 2), Some(&b"c"[..]));
    }
}
