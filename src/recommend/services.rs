//! The AWS services flow logs name: v5's `pkt-src-aws-service` and `pkt-dst-aws-service`
//! (the `ip-ranges.json` subset of the packet's source or destination: `AMAZON`, `S3`,
//! `DYNAMODB`, `EC2`, `ROUTE53`, ...; `-` for none).
//!
//! The service is a property of the address, not of the flow, so it is kept beside the
//! aggregate as address → service ([`AwsServices`]), filled by [`ServiceTap`], a processor
//! wrapped around the aggregate that reads the two columns from the record's line when its
//! format has them. The aggregate itself is untouched. `destinations` then uses the map like
//! `ip-ranges.json`: the evidence names the service, and an address of a service whose
//! AWS-managed prefix list is given is allowed through that list.
//!
//! Parquet input: the two columns are read from the record's line, so the tap asks for lines
//! (`Processor::wants_lines`), and a Parquet file then has every column read and rendered.
//! Reading only these two beside the record's would be cheaper (left for later: it needs the
//! processor to name the columns it wants).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{Action, FlowRecord, LogStatus};

/// Addresses named at most (a bound on memory: each is a public AWS address the logs saw).
pub const MAX_ADDRESSES: usize = 100_000;

/// Address → AWS service, as the logs name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsServices {
    pub by_addr: HashMap<IpAddr, String>,
    /// Values that are not a service name (not `[A-Z0-9_]`, 1 to 40 bytes), skipped.
    pub odd_values: u64,
    /// Addresses not kept past [`MAX_ADDRESSES`].
    pub dropped: u64,
}

impl AwsServices {
    pub fn get(&self, ip: IpAddr) -> Option<&str> {
        self.by_addr.get(&ip).map(String::as_str)
    }

    fn add(&mut self, ip: IpAddr, service: &[u8]) {
        if service == b"-" {
            return;
        }
        let ok = !service.is_empty()
            && service.len() <= 40
            && service
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
        if !ok {
            self.odd_values += 1;
            return;
        }
        // ASCII, checked above.
        let name = std::str::from_utf8(service).unwrap_or_default();
        let full = self.by_addr.len() >= MAX_ADDRESSES;
        match self.by_addr.get_mut(&ip) {
            Some(old) => {
                if prefer(name, old) {
                    *old = name.to_string();
                }
            }
            None if full => self.dropped += 1,
            None => {
                self.by_addr.insert(ip, name.to_string());
            }
        }
    }

    pub fn merge(&mut self, other: AwsServices) {
        self.odd_values += other.odd_values;
        self.dropped += other.dropped;
        for (ip, name) in other.by_addr {
            self.add(ip, name.as_bytes());
        }
    }
}

/// Whether `new` should replace `old` for one address: a named service over the `AMAZON`
/// superset, else the smaller name, so that the result does not depend on the merge order.
fn prefer(new: &str, old: &str) -> bool {
    match (new == "AMAZON", old == "AMAZON") {
        (false, true) => true,
        (true, false) => false,
        _ => new < old,
    }
}

/// Wraps a processor; keeps the services named by the records it passes on.
#[derive(Debug, Clone)]
pub struct ServiceTap<P> {
    pub inner: P,
    pub services: AwsServices,
}

impl<P> ServiceTap<P> {
    pub fn new(inner: P) -> Self {
        ServiceTap {
            inner,
            services: AwsServices::default(),
        }
    }
}

impl<P: Processor> Processor for ServiceTap<P> {
    const WEIGHTED: bool = P::WEIGHTED;

    #[inline]
    fn record(&mut self, rec: &FlowRecord, ctx: &RecordCtx<'_>) {
        self.inner.record(rec, ctx);
        // Only accepted traffic is attributed to rules.
        if rec.action != Action::Accept || rec.status != LogStatus::Ok {
            return;
        }
        let cols = ctx.format.columns();
        let src = cols.iter().position(|f| *f == Field::PktSrcAwsService);
        let dst = cols.iter().position(|f| *f == Field::PktDstAwsService);
        if src.is_none() && dst.is_none() {
            return;
        }
        let line = crate::flowlog::format::trim_line(ctx.line);
        for (i, tok) in line
            .split(|b| *b == b' ')
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            let addr = if Some(i) == src {
                rec.pkt_srcaddr.or(rec.srcaddr)
            } else if Some(i) == dst {
                rec.pkt_dstaddr.or(rec.dstaddr)
            } else {
                continue;
            };
            if let Some(a) = addr {
                self.services.add(a.to_ip_addr(), tok);
            }
        }
    }

    fn end_chunk(&mut self) {
        self.inner.end_chunk();
    }

    fn done(&self) -> bool {
        self.inner.done()
    }

    /// Lines are needed to read the two columns: a Parquet input then reads and renders every
    /// column (text input has its lines anyway).
    fn wants_lines(&self) -> bool {
        true
    }

    fn merge(&mut self, other: Self) {
        self.inner.merge(other.inner);
        self.services.merge(other.services);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_service_wins_whatever_the_order_and_odd_values_are_counted() {
        let ip: IpAddr = "52.216.1.1".parse().unwrap();
        let mut a = AwsServices::default();
        a.add(ip, b"AMAZON");
        a.add(ip, b"S3");
        let mut b = AwsServices::default();
        b.add(ip, b"S3");
        b.add(ip, b"AMAZON");
        assert_eq!((a.get(ip), b.get(ip)), (Some("S3"), Some("S3")));
        a.add(ip, b"-");
        a.add(ip, b"s3;rm");
        assert_eq!(a.odd_values, 1);
        let mut c = AwsServices::default();
        c.merge(a);
        assert_eq!(c.get(ip), Some("S3"));
        assert_eq!(c.odd_values, 1);
    }
}
