//! The AWS services flow logs name: v5's `pkt-src-aws-service` and `pkt-dst-aws-service`
//! (the `ip-ranges.json` subset of the packet's source or destination: `AMAZON`, `S3`,
//! `DYNAMODB`, `EC2`, `ROUTE53`, ...; `-` for none).
//!
//! The service is a property of the address, not of the flow, so it is kept beside the
//! aggregate as address → service ([`AwsServices`]), filled by [`ServiceTap`], a processor
//! wrapped around the aggregate that reads the two fields from the record (`AwsService`
//! codes, parsed once with the rest of the record, from text or Parquet alike). The
//! aggregate itself is untouched. `destinations` then uses the map like `ip-ranges.json`:
//! the evidence names the service, and an address of a service whose AWS-managed prefix list
//! is given is allowed through that list.
//!
//! A value not on `AwsService`'s list (`AwsService::OTHER`: a service AWS added since, or
//! junk) is read from the record's line, which the text reader always has and the Parquet
//! reader renders for such a record: a new service is named as the log names it, and junk
//! is counted in `odd_values`, as before the codes.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::engine::{Processor, RecordCtx};
use crate::flowlog::format::Field;
use crate::flowlog::record::{Action, AwsService, FlowRecord, Ip, LogStatus};

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

impl<P> ServiceTap<P> {
    /// Keeps `service` as the service of `addr`: a name of the list as it is, another value
    /// as the record's line has it in `field`'s column.
    #[inline]
    fn add(&mut self, addr: Ip, service: AwsService, field: Field, ctx: &RecordCtx<'_>) {
        match service.name() {
            Some(name) => self.services.add(addr.to_ip_addr(), name.as_bytes()),
            None => self.add_other(addr, field, ctx),
        }
    }

    /// A value not in the list, read from the record's line.
    #[cold]
    fn add_other(&mut self, addr: Ip, field: Field, ctx: &RecordCtx<'_>) {
        let Some(col) = ctx.format.columns().iter().position(|f| *f == field) else {
            return;
        };
        let line = crate::flowlog::format::trim_line(ctx.line);
        let token = line
            .split(|b| *b == b' ')
            .filter(|t| !t.is_empty())
            .nth(col);
        if let Some(tok) = token {
            self.services.add(addr.to_ip_addr(), tok);
        }
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
        let (src, dst) = (rec.pkt_src_aws_service, rec.pkt_dst_aws_service);
        // Formats without the fields, and records without a service.
        if src == AwsService::NONE && dst == AwsService::NONE {
            return;
        }
        // Only accepted traffic is attributed to rules.
        if rec.action != Action::Accept || rec.status != LogStatus::Ok {
            return;
        }
        // Source first: at the `MAX_ADDRESSES` cap, which address is kept depends on the
        // order records reach the workers anyway.
        if let Some(a) = rec
            .pkt_srcaddr
            .or(rec.srcaddr)
            .filter(|_| src != AwsService::NONE)
        {
            self.add(a, src, Field::PktSrcAwsService, ctx);
        }
        if let Some(a) = rec
            .pkt_dstaddr
            .or(rec.dstaddr)
            .filter(|_| dst != AwsService::NONE)
        {
            self.add(a, dst, Field::PktDstAwsService, ctx);
        }
    }

    fn end_chunk(&mut self) {
        self.inner.end_chunk();
    }

    fn done(&self) -> bool {
        self.inner.done()
    }

    /// The fields come in the record; a name not in the list comes with a line anyway
    /// (`AwsService::OTHER`).
    fn wants_lines(&self) -> bool {
        self.inner.wants_lines()
    }

    fn wants_aws_services(&self) -> bool {
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
