//! `flowscope generate --profile busy`: default-format logs of a busy multi-account estate
//! (the variety of issue 18) with the true row of every record.
//!
//! 200 interfaces in 4 accounts (a quarter dual-stack, some with secondary private IPv4
//! addresses, NAT gateways, internet-facing ALB nodes), about 20,000 public and 4,000
//! private clients, 3,000 scanners of which 40% probe random ports from random source ports,
//! Zipf-skewed volume per interface. Files of 50,000 records each, S3 layout per account, with
//! the header line. Beside the logs: `truth.csv` (flows per true row: interface, rule
//! direction, protocol, service port, action), `truth.json` (totals and the estate), and the
//! inventory (`network-interfaces.json`, `security-groups.json`).
//!
//! Determinism and memory as in the retail store: per-file RNG streams from `--seed`, files
//! written in parallel and streamed into the gzip encoder; the truth is summed per file and
//! merged, so memory follows the number of true rows, not of records.

mod estate;
mod inventory;
mod traffic;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::format::{push_u64, Field, FormatKind, Status};
use super::rng::Rng;
use super::{
    civil, create_dirs, remove_old_logs, write_json, FormatArg, GenerateOptions, GenerateSummary,
    Sink,
};
use estate::{Estate, REGION};
use traffic::{FileGen, Rec, WINDOW};

/// Records per file (AWS writes many files per 5-minute interval on a busy estate).
pub const RECORDS_PER_FILE: u64 = 50_000;

struct Plan {
    index: usize,
    account: usize,
    rel_path: String,
    t0: u64,
    t1: u64,
    budget: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
struct Totals {
    files: u64,
    records: u64,
    data_records: u64,
    nodata_records: u64,
    skipdata_records: u64,
    /// Data records whose protocol has ports (the ones an accuracy check judges).
    judged_records: u64,
    accept_records: u64,
    reject_records: u64,
    ipv6_records: u64,
    truth_rows: u64,
    size_bytes: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.files += o.files;
        self.records += o.records;
        self.data_records += o.data_records;
        self.nodata_records += o.nodata_records;
        self.skipdata_records += o.skipdata_records;
        self.judged_records += o.judged_records;
        self.accept_records += o.accept_records;
        self.reject_records += o.reject_records;
        self.ipv6_records += o.ipv6_records;
        self.size_bytes += o.size_bytes;
    }
}

/// A true row packed into one word: interface | ingress << 16 | accept << 17 |
/// protocol << 18 | (port present << 16 | port) << 26.
fn truth_key(r: &Rec) -> u64 {
    let port = r.port.map_or(0, |p| 0x1_0000 | p as u64);
    r.iface as u64
        | (r.rule_ingress as u64) << 16
        | (r.accept as u64) << 17
        | (r.proto as u64) << 18
        | port << 26
}

fn format_of(args: &GenerateOptions) -> FormatKind {
    match args.format {
        FormatArg::V3 => FormatKind::V3,
        FormatArg::V5 => FormatKind::V5,
        // The default format is what most estates have.
        FormatArg::V2 | FormatArg::Mixed | FormatArg::Parquet => FormatKind::V2,
    }
}

pub fn run(args: &GenerateOptions) -> Result<GenerateSummary> {
    let started = Instant::now();
    if args.records == 0 {
        bail!("--records must be at least 1");
    }
    if args.incidents || args.single_file {
        bail!(
            "--incidents and --single-file belong to the retail-store profile, not --profile busy"
        );
    }
    let estate = Estate::build();
    let kind = format_of(args);
    let plans = plan(args, &estate);
    prepare_dirs(&args.out, &estate, &plans)?;
    let truth: Mutex<HashMap<u64, u64>> = Mutex::new(HashMap::new());
    let stats: Vec<Totals> = plans
        .par_iter()
        .map(|p| {
            let (t, rows) = write_file(args, &estate, kind, p)?;
            let mut all = truth.lock().expect("truth lock");
            for (k, v) in rows {
                *all.entry(k).or_insert(0) += v;
            }
            Ok(t)
        })
        .collect::<Result<_>>()?;
    let mut totals = Totals::default();
    for s in &stats {
        totals.add(s);
    }
    let truth = truth.into_inner().expect("truth lock");
    totals.truth_rows = truth.len() as u64;
    debug_assert_eq!(totals.records, args.records);
    debug_assert_eq!(truth.values().sum::<u64>(), totals.data_records);

    write_truth_csv(&args.out.join("truth.csv"), &estate, &truth)?;
    write_json(
        &args.out.join("truth.json"),
        &truth_json(args, kind, &estate, &plans, &totals),
    )?;
    if !args.no_inventory {
        write_json(
            &args.out.join("network-interfaces.json"),
            &inventory::network_interfaces(&estate),
        )?;
        write_json(
            &args.out.join("security-groups.json"),
            &inventory::security_groups(&estate),
        )?;
    }
    Ok(GenerateSummary {
        records: totals.records,
        nodata: totals.nodata_records,
        skipdata: totals.skipdata_records,
        truth_rows: Some(totals.truth_rows),
        incidents: false,
        files: totals.files,
        size_bytes: totals.size_bytes,
        out: args.out.clone(),
        elapsed: started.elapsed(),
    })
}

/// Files of 50,000 records, dealt to the accounts in turn, each account's files in time order.
fn plan(args: &GenerateOptions, estate: &Estate) -> Vec<Plan> {
    let files = args.records.div_ceil(RECORDS_PER_FILE) as usize;
    let accounts = estate.accounts.len();
    let span = args.hours * 3600;
    (0..files)
        .map(|i| {
            let a = i % accounts;
            let n = ((files - a).div_ceil(accounts)) as u64;
            let k = (i / accounts) as u64;
            let t0 = args.start + span * k / n;
            let t1 = args.start + span * (k + 1) / n;
            let stamp = t1.div_ceil(300) * 300;
            let (y, mo, d, h, mi) = civil(stamp);
            let hash = Rng::derive(args.seed, 0xb05f_0000 + i as u64).next_u64() as u32;
            let ext = args.log_ext();
            let acc = &estate.accounts[a];
            let (id, fl) = (acc.id, &acc.flow_log_id);
            Plan {
                index: i,
                account: a,
                rel_path: format!(
                    "AWSLogs/{id}/vpcflowlogs/{REGION}/{y:04}/{mo:02}/{d:02}/\
                     {id}_vpcflowlogs_{REGION}_{fl}_{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z_{hash:08x}.{ext}"
                ),
                t0,
                t1,
                budget: RECORDS_PER_FILE.min(args.records - i as u64 * RECORDS_PER_FILE),
            }
        })
        .collect()
}

/// Create the date directories; remove log files of the estate's flow logs left by earlier
/// runs so that the directory holds exactly this dataset.
fn prepare_dirs(out: &Path, estate: &Estate, plans: &[Plan]) -> Result<()> {
    for acc in &estate.accounts {
        let root = out
            .join("AWSLogs")
            .join(acc.id)
            .join("vpcflowlogs")
            .join(REGION);
        let prefix = format!("{}_vpcflowlogs_{REGION}_{}_", acc.id, acc.flow_log_id);
        remove_old_logs(&root, &prefix)?;
    }
    create_dirs(out, plans.iter().map(|p| p.rel_path.as_str()))
}

fn write_file(
    args: &GenerateOptions,
    estate: &Estate,
    kind: FormatKind,
    p: &Plan,
) -> Result<(Totals, HashMap<u64, u64>)> {
    let path = args.out.join(&p.rel_path);
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let w = BufWriter::with_capacity(1 << 17, file);
    let mut sink = Sink::new(w, args);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    buf.extend_from_slice(kind.header().as_bytes());
    buf.push(b'\n');
    let mut t = Totals {
        files: 1,
        ..Totals::default()
    };
    let mut truth: HashMap<u64, u64> = HashMap::new();
    let mut add = |buf: &mut Vec<u8>, t: &mut Totals, r: &Rec| {
        write_line(buf, kind, estate, r);
        t.records += 1;
        match r.status {
            Status::Ok => {
                t.data_records += 1;
                t.judged_records += u64::from(r.port.is_some());
                if r.accept {
                    t.accept_records += 1;
                } else {
                    t.reject_records += 1;
                }
                t.ipv6_records += u64::from(estate.addr(r.src).v6);
                *truth.entry(truth_key(r)).or_insert(0) += 1;
            }
            Status::NoData => t.nodata_records += 1,
            Status::SkipData => t.skipdata_records += 1,
        }
    };

    let mut gen = FileGen {
        estate,
        account: p.account,
        rng: Rng::derive(args.seed, 0xb05f_f11e_0000 + p.index as u64),
        t_max: p.t1.saturating_sub(WINDOW + 6).max(p.t0),
    };
    let span = gen.t_max - p.t0;
    // Each interface of the account reports NODATA at one random minute of the file
    // (idle interfaces report it every minute in reality; thinned when the budget is small).
    let minutes: Vec<u64> = (p.t0.div_ceil(WINDOW)..=gen.t_max / WINDOW)
        .map(|m| m * WINDOW)
        .collect();
    let mut nodata: Vec<(u64, usize)> = Vec::new();
    if !minutes.is_empty() {
        for &i in &estate.accounts[p.account].ifaces {
            nodata.push((*gen.rng.pick(&minutes), i));
        }
    }
    nodata.sort_unstable();
    nodata.truncate((p.budget / 100) as usize);
    let mut ni = 0;
    let mut emitted = 0u64;
    let mut tmp: Vec<Rec> = Vec::with_capacity(64);
    while emitted < p.budget {
        let now = p.t0 + span * emitted / p.budget;
        if ni < nodata.len() && nodata[ni].0 <= now {
            let (m, i) = nodata[ni];
            add(
                &mut buf,
                &mut t,
                &Rec::empty(i, Status::NoData, m, m + WINDOW - 1 - gen.rng.range(0, 2)),
            );
            ni += 1;
            emitted += 1;
        } else {
            gen.event(now, (p.budget - emitted) as usize, &mut tmp);
            debug_assert!(!tmp.is_empty() && tmp.len() as u64 <= p.budget - emitted);
            emitted += tmp.len() as u64;
            for r in tmp.drain(..) {
                add(&mut buf, &mut t, &r);
            }
        }
        if buf.len() >= 1 << 16 {
            sink.write_all(&buf)?;
            buf.clear();
        }
    }
    sink.write_all(&buf)?;
    let mut w = sink.into_inner()?;
    w.flush()?;
    drop(w);
    t.size_bytes = fs::metadata(&path)?.len();
    Ok((t, truth))
}

/// Append `r` as one line in format `kind`.
fn write_line(buf: &mut Vec<u8>, kind: FormatKind, e: &Estate, r: &Rec) {
    let f = &e.ifaces[r.iface as usize];
    let acc = &e.accounts[f.account];
    let subnet = &acc.subnets[f.subnet];
    let data = r.status == Status::Ok;
    for (i, field) in kind.fields().iter().enumerate() {
        if i > 0 {
            buf.push(b' ');
        }
        let addr = |id| e.addr(id).text.as_bytes();
        use Field::*;
        match field {
            Version => push_u64(buf, kind.version() as u64),
            AccountId => buf.extend_from_slice(acc.id.as_bytes()),
            InterfaceId => buf.extend_from_slice(f.id.as_bytes()),
            VpcId => buf.extend_from_slice(acc.vpc_id.as_bytes()),
            SubnetId => buf.extend_from_slice(subnet.id.as_bytes()),
            InstanceId => buf.extend_from_slice(f.instance_id.as_deref().unwrap_or("-").as_bytes()),
            Region => buf.extend_from_slice(REGION.as_bytes()),
            AzId => buf.extend_from_slice(estate::AZS[subnet.az].1.as_bytes()),
            Start => push_u64(buf, r.start),
            End => push_u64(buf, r.end),
            LogStatus => buf.extend_from_slice(match r.status {
                Status::Ok => b"OK",
                Status::NoData => b"NODATA",
                Status::SkipData => b"SKIPDATA",
            }),
            _ if !data => buf.push(b'-'),
            SrcAddr => buf.extend_from_slice(addr(r.src)),
            DstAddr => buf.extend_from_slice(addr(r.dst)),
            PktSrcAddr => buf.extend_from_slice(addr(r.pkt_src)),
            PktDstAddr => buf.extend_from_slice(addr(r.pkt_dst)),
            SrcPort => push_u64(buf, r.sport as u64),
            DstPort => push_u64(buf, r.dport as u64),
            Protocol => push_u64(buf, r.proto as u64),
            Packets => push_u64(buf, r.packets),
            Bytes => push_u64(buf, r.bytes),
            Action => buf.extend_from_slice(if r.accept { b"ACCEPT" } else { b"REJECT" }),
            TcpFlags => push_u64(buf, r.flags as u64),
            Type => buf.extend_from_slice(if e.addr(r.src).v6 { b"IPv6" } else { b"IPv4" }),
            FlowDirection => buf.extend_from_slice(if r.arriving { b"ingress" } else { b"egress" }),
            PktSrcAwsService | PktDstAwsService => buf.push(b'-'),
            TrafficPath => {
                if r.arriving {
                    buf.push(b'-')
                } else if e.addr(r.pkt_dst).private {
                    buf.push(b'1')
                } else {
                    buf.push(b'8')
                }
            }
            // Fields none of the generator's formats has.
            _ => buf.push(b'-'),
        }
    }
    buf.push(b'\n');
}

/// `truth.csv`: flows per true row, sorted by interface id, direction, protocol, port, action.
fn write_truth_csv(path: &Path, e: &Estate, truth: &HashMap<u64, u64>) -> Result<()> {
    // Sorted as packed words (16 bytes a row: at 50 M records there are about 1.7 M rows),
    // by the text order of interface id, direction, protocol, port, action.
    let mut rank = vec![0u64; e.ifaces.len()];
    let mut by_id: Vec<usize> = (0..e.ifaces.len()).collect();
    by_id.sort_by_key(|&i| &e.ifaces[i].id);
    for (r, &i) in by_id.iter().enumerate() {
        rank[i] = r as u64;
    }
    let order = |k: u64| {
        let (ingress, accept) = (k >> 16 & 1, k >> 17 & 1);
        (
            rank[(k & 0xffff) as usize],
            ingress,
            (k >> 18) as u8,
            k >> 26,
            1 - accept,
        )
    };
    let mut rows: Vec<(u64, u64)> = truth.iter().map(|(&k, &v)| (k, v)).collect();
    rows.sort_unstable_by_key(|&(k, _)| order(k));
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(f);
    writeln!(w, "interface_id,direction,protocol,port,action,flows")?;
    for (k, flows) in rows {
        let id = &e.ifaces[(k & 0xffff) as usize].id;
        let dir = if k >> 16 & 1 == 1 {
            "ingress"
        } else {
            "egress"
        };
        write!(w, "{id},{dir},{},", (k >> 18) as u8)?;
        if k >> 26 & 0x1_0000 != 0 {
            write!(w, "{}", (k >> 26) as u16)?;
        }
        let action = if k >> 17 & 1 == 1 { "ACCEPT" } else { "REJECT" };
        writeln!(w, ",{action},{flows}")?;
    }
    w.flush()?;
    Ok(())
}

fn truth_json(
    args: &GenerateOptions,
    kind: FormatKind,
    e: &Estate,
    plans: &[Plan],
    totals: &Totals,
) -> serde_json::Value {
    let text = |id| e.addr(id).text.clone();
    json!({
        "generator": "flowscope generate --profile busy",
        "generator_version": env!("CARGO_PKG_VERSION"),
        "args": {
            "records": args.records, "seed": args.seed, "start": args.start, "hours": args.hours,
            "format": kind.name(), "gzip": !args.no_gzip && !args.parquet(),
            "file_format": if args.parquet() { "parquet" } else { "text" }, "level": args.level,
            "inventory": !args.no_inventory,
        },
        "records_per_file": RECORDS_PER_FILE,
        "header": kind.header(),
        "truth_file": "truth.csv",
        "truth_columns": "interface_id,direction,protocol,port,action,flows: data records (NODATA and \
            SKIPDATA excluded) per true row; direction is the security-group rule the flow needs on the \
            interface (ingress on the service side, egress on the client side; a NAT gateway serves the \
            client's leg and is the client of the translated leg); port is empty for protocols without ports",
        "totals": totals,
        "accounts": e.accounts.iter().enumerate().map(|(a, acc)| json!({
            "account_id": acc.id, "vpc_id": acc.vpc_id, "vpc_cidr": acc.vpc_cidr,
            "flow_log_id": acc.flow_log_id,
            "subnets": acc.subnets.iter().map(|s| json!({
                "subnet_id": s.id, "cidr": s.cidr, "ipv6_cidr": s.ipv6_cidr,
                "availability_zone": estate::AZS[s.az].0,
            })).collect::<Vec<_>>(),
            "files": plans.iter().filter(|p| p.account == a).count(),
        })).collect::<Vec<_>>(),
        "interfaces": e.ifaces.iter().map(|f| json!({
            "interface_id": f.id,
            "account_id": e.accounts[f.account].id,
            "role": f.role.name(),
            "private_ip": text(f.ip),
            "secondary_private_ips": f.secondary.iter().map(|&a| text(a)).collect::<Vec<_>>(),
            "ipv6": f.ipv6.iter().map(|&a| text(a)).collect::<Vec<_>>(),
            "public_ip": f.public_ip,
            "security_group": f.group.map(|g| e.groups[g].id.clone()),
            "service_port": (f.port != 0).then_some(f.port),
        })).collect::<Vec<_>>(),
        "peers": {
            "public_clients_ipv4": e.public_v4.len(),
            "public_clients_ipv6": e.public_v6.len(),
            "private_clients": e.private_clients.len(),
            "scanners": e.scanners.len(),
            "random_port_scanner_share": estate::RANDOM_SCANNER_SHARE,
        },
        "notes": "Traffic to a secondary private IPv4 address shows the primary in dstaddr (pkt-dstaddr \
            has the secondary); its answers leave from the secondary (srcaddr). NAT gateways marked \
            nat-transit log the client's leg with the packet addresses (neither is the NAT's own); the \
            others show the NAT's private address as in the AWS documentation's example.",
    })
}

#[cfg(test)]
mod tests;
