//! `flowscope generate`: a realistic, reproducible VPC flow-log dataset of the ECS retail store
//! (internet -> ALB -> ECS tasks -> RDS/Redis/endpoints/NAT), laid out like an S3 export, with
//! the matching inventory (`describe-security-groups`, `describe-network-interfaces`, a
//! CloudFormation template) and a `manifest.json` holding the ground truth.
//!
//! Determinism: the topology is fixed; traffic comes from per-file RNG streams derived from
//! `--seed`, so files can be generated in parallel and the output is byte-identical for the
//! same arguments. Memory is bounded: records are streamed into the gzip encoder.

mod aws_json;
pub mod busy;
mod format;
mod incidents;
#[cfg(feature = "parquet")]
mod parquet;
mod rng;
mod topology;
mod traffic;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

pub use format::FormatKind;
use format::{write_line, Rec, Status};
use incidents::IncidentFacts;
use rng::Rng;
use topology::{EniKind, Topology, ACCOUNT_ID, FLOW_LOG_ID, REGION, VPC_CIDR, VPC_ID};
use traffic::{FileGen, WINDOW};

/// Record format of the generated files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// AWS default format (version 2 fields in the default order).
    V2,
    /// Custom format with version 3 fields in a non-default column order.
    V3,
    /// Custom format with version 3-5 fields in a non-default column order.
    V5,
    /// Files alternate v2, v3 and v5 (as when several flow logs write to one bucket).
    Mixed,
    /// Parquet files (`--file-format parquet`), records as `mixed` (busy profile: v2).
    Parquet,
}

/// File format of `--file-format`: how AWS delivers to S3 (`FileFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Text lines with a header line (gzip unless --no-gzip).
    Text,
    /// Apache Parquet as AWS writes it: one column per field of the format (underscore
    /// names, INT32/INT64 numbers, strings), GZIP inside, row groups of 16,384 rows.
    Parquet,
}

/// Which estate `generate` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The ECS retail store of one account (with manifest.json, template.json).
    Retail,
    /// A busy multi-account estate (see `busy`).
    Busy,
}

/// What to generate (`flowscope generate`'s flags; `new` gives their defaults).
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub profile: Profile,
    /// Output directory.
    pub out: PathBuf,
    /// Data records in all (NODATA and SKIPDATA included).
    pub records: u64,
    /// Log files (retail profile).
    pub files: usize,
    /// One file holding everything (overrides `files`).
    pub single_file: bool,
    /// Start of the time window, epoch seconds.
    pub start: u64,
    /// Length of the time window, hours (1 to 720).
    pub hours: u64,
    /// Seed of the traffic.
    pub seed: u64,
    pub format: FormatArg,
    /// Plain .log files instead of gzip.
    pub no_gzip: bool,
    /// Text or Parquet files.
    pub file_format: FileFormat,
    /// Gzip level (0-9).
    pub level: u32,
    /// Add the incident traffic.
    pub incidents: bool,
    /// Write no security-groups.json, network-interfaces.json, template.json.
    pub no_inventory: bool,
    /// Write into a directory that is not empty.
    pub force: bool,
}

impl GenerateOptions {
    /// The defaults of the command line, writing to `out`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        GenerateOptions {
            profile: Profile::Retail,
            out: out.into(),
            records: 40_000,
            files: 24,
            single_file: false,
            start: 1_763_596_800,
            hours: 6,
            seed: 1,
            format: FormatArg::Mixed,
            no_gzip: false,
            file_format: FileFormat::Text,
            level: 6,
            incidents: false,
            no_inventory: false,
            force: false,
        }
    }

    /// Parquet files (`--file-format parquet` or `--format parquet`).
    pub fn parquet(&self) -> bool {
        self.file_format == FileFormat::Parquet || self.format == FormatArg::Parquet
    }

    /// The log files' extension.
    pub(crate) fn log_ext(&self) -> &'static str {
        if self.parquet() {
            "log.parquet"
        } else if self.no_gzip {
            "log"
        } else {
            "log.gz"
        }
    }
}

/// What `run` wrote, for the command to report (the library never prints).
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    pub records: u64,
    pub nodata: u64,
    pub skipdata: u64,
    /// Rows of truth.csv (busy profile only).
    pub truth_rows: Option<u64>,
    pub incidents: bool,
    pub files: u64,
    pub size_bytes: u64,
    pub out: PathBuf,
    pub elapsed: std::time::Duration,
}

impl std::fmt::Display for GenerateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.truth_rows {
            Some(rows) => write!(
                f,
                "generated {} busy-profile records ({} NODATA, {} SKIPDATA, {rows} true rows)",
                self.records, self.nodata, self.skipdata
            )?,
            None => write!(
                f,
                "generated {} records ({} NODATA, {} SKIPDATA{})",
                self.records,
                self.nodata,
                self.skipdata,
                if self.incidents {
                    ", with incidents"
                } else {
                    ""
                }
            )?,
        }
        write!(
            f,
            " in {} files ({:.1} MB) under {} in {:.2}s",
            self.files,
            self.size_bytes as f64 / 1e6,
            self.out.display(),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Ground truth of one generated file.
#[derive(Debug, Clone, Serialize)]
pub struct FileStats {
    /// Path relative to the output directory, with `/` separators.
    pub path: String,
    pub format: String,
    pub header: String,
    pub gzip_members: u32,
    pub lines: u64,
    pub header_lines: u64,
    pub records: u64,
    pub ok_records: u64,
    pub nodata_records: u64,
    pub skipdata_records: u64,
    pub accept_records: u64,
    pub reject_records: u64,
    pub ipv6_records: u64,
    pub incident_records: u64,
    pub first_start: u64,
    pub last_end: u64,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub files: u64,
    pub lines: u64,
    pub header_lines: u64,
    pub records: u64,
    pub ok_records: u64,
    pub nodata_records: u64,
    pub skipdata_records: u64,
    pub accept_records: u64,
    pub reject_records: u64,
    pub ipv6_records: u64,
    pub incident_records: u64,
    pub size_bytes: u64,
}

struct FilePlan {
    index: usize,
    rel_path: String,
    format: FormatKind,
    t0: u64,
    t1: u64,
    normal_budget: u64,
    members: u32,
    incidents: std::ops::Range<usize>,
}

/// Generates the dataset described by `args`; returns what was written (for the command to say).
pub fn run(args: &GenerateOptions) -> Result<GenerateSummary> {
    check_out_dir(&args.out, args.force)?;
    if args.parquet() && !cfg!(feature = "parquet") {
        bail!("--file-format parquet: this flowscope was built without the `parquet` feature");
    }
    if args.profile == Profile::Busy {
        return busy::run(args);
    }
    let started = Instant::now();
    let files = if args.single_file { 1 } else { args.files };
    if files == 0 {
        bail!("--files must be at least 1");
    }
    if args.records == 0 {
        bail!("--records must be at least 1");
    }
    let topo = Topology::build();
    let (inc_recs, inc_facts) = if args.incidents {
        let (r, f) = incidents::build(&topo, args.seed, args.start, args.hours);
        (r, Some(f))
    } else {
        (Vec::new(), None)
    };
    if (inc_recs.len() as u64) > args.records {
        bail!(
            "--incidents needs at least {} records (got --records {})",
            inc_recs.len(),
            args.records
        );
    }
    let plans = plan(args, files, &inc_recs);
    prepare_dirs(&args.out, &plans)?;

    let stats: Vec<FileStats> = plans
        .par_iter()
        .map(|p| write_file(args, &topo, p, &inc_recs[p.incidents.clone()]))
        .collect::<Result<_>>()?;

    let mut totals = Totals {
        files: stats.len() as u64,
        ..Totals::default()
    };
    for s in &stats {
        totals.lines += s.lines;
        totals.header_lines += s.header_lines;
        totals.records += s.records;
        totals.ok_records += s.ok_records;
        totals.nodata_records += s.nodata_records;
        totals.skipdata_records += s.skipdata_records;
        totals.accept_records += s.accept_records;
        totals.reject_records += s.reject_records;
        totals.ipv6_records += s.ipv6_records;
        totals.incident_records += s.incident_records;
        totals.size_bytes += s.size_bytes;
    }
    debug_assert_eq!(totals.records, args.records);

    if !args.no_inventory {
        write_json(
            &args.out.join("security-groups.json"),
            &aws_json::security_groups(&topo),
        )?;
        write_json(
            &args.out.join("network-interfaces.json"),
            &aws_json::network_interfaces(&topo),
        )?;
        write_json(&args.out.join("template.json"), &aws_json::template(&topo)?)?;
    }
    let manifest = manifest(args, &topo, &plans, &stats, &totals, inc_facts.as_ref());
    write_json(&args.out.join("manifest.json"), &manifest)?;

    Ok(GenerateSummary {
        records: totals.records,
        nodata: totals.nodata_records,
        skipdata: totals.skipdata_records,
        truth_rows: None,
        incidents: args.incidents,
        files: totals.files,
        size_bytes: totals.size_bytes,
        out: args.out.clone(),
        elapsed: started.elapsed(),
    })
}

fn format_of(args: &GenerateOptions, files: usize, i: usize) -> FormatKind {
    match args.format {
        FormatArg::V2 => FormatKind::V2,
        FormatArg::V3 => FormatKind::V3,
        FormatArg::V5 => FormatKind::V5,
        FormatArg::Mixed | FormatArg::Parquet if files == 1 => FormatKind::V5,
        FormatArg::Mixed | FormatArg::Parquet => {
            [FormatKind::V2, FormatKind::V3, FormatKind::V5][i % 3]
        }
    }
}

/// Index of the file written as two concatenated gzip members (mixed mode only).
fn multi_member_index(args: &GenerateOptions, files: usize) -> Option<usize> {
    (args.format == FormatArg::Mixed && !args.no_gzip && !args.parquet()).then_some(if files > 1 {
        1
    } else {
        0
    })
}

fn plan(args: &GenerateOptions, files: usize, inc: &[Rec]) -> Vec<FilePlan> {
    let span = args.hours * 3600;
    let normal = args.records - inc.len() as u64;
    let mm = multi_member_index(args, files);
    let n = files as u64;
    (0..files)
        .map(|i| {
            let k = i as u64;
            let t0 = args.start + span * k / n;
            let t1 = args.start + span * (k + 1) / n;
            let lo = inc.partition_point(|r| r.start < t0);
            let hi = if i + 1 == files { inc.len() } else { inc.partition_point(|r| r.start < t1) };
            // Delivery time: the 5-minute boundary at or after the end of the interval.
            let stamp = t1.div_ceil(300) * 300;
            let (y, mo, d, h, mi) = civil(stamp);
            let hash = Rng::derive(args.seed, 0xf11e_0000 + k).next_u64() as u32;
            let ext = args.log_ext();
            let rel_path = format!(
                "AWSLogs/{ACCOUNT_ID}/vpcflowlogs/{REGION}/{y:04}/{mo:02}/{d:02}/\
                 {ACCOUNT_ID}_vpcflowlogs_{REGION}_{FLOW_LOG_ID}_{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z_{hash:08x}.{ext}"
            );
            FilePlan {
                index: i,
                rel_path,
                format: format_of(args, files, i),
                t0,
                t1,
                normal_budget: normal * (k + 1) / n - normal * k / n,
                members: if mm == Some(i) { 2 } else { 1 },
                incidents: lo..hi,
            }
        })
        .collect()
}

/// (year, month, day, hour, minute) of a unix time (UTC).
fn civil(t: u64) -> (i64, u32, u32, u32, u32) {
    let d = crate::time::DateTime::from_epoch(t);
    (d.year, d.month, d.day, d.hour, d.minute)
}

fn log_dir(out: &Path) -> PathBuf {
    out.join("AWSLogs")
        .join(ACCOUNT_ID)
        .join("vpcflowlogs")
        .join(REGION)
}

/// Refuses an output path that is not a directory, or a directory that holds anything,
/// unless `force`: generating replaces log files and inventory without asking.
fn check_out_dir(out: &Path, force: bool) -> Result<()> {
    match fs::metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("--out {}", out.display())),
        Ok(m) if !m.is_dir() => bail!("--out {}: not a directory", out.display()),
        Ok(_) if force => Ok(()),
        Ok(_) => {
            let mut entries =
                fs::read_dir(out).with_context(|| format!("reading {}", out.display()))?;
            match entries.next() {
                None => Ok(()),
                Some(first) => bail!(
                    "--out {}: the directory is not empty (it holds {:?}, among others); \
                     pass --force to write the dataset there anyway (log files of the \
                     generated flow log are removed, the inventory and manifest overwritten)",
                    out.display(),
                    first?.file_name()
                ),
            }
        }
    }
}

/// Create the date directories; remove log files of this flow log left by earlier runs so
/// that the directory holds exactly the generated dataset.
fn prepare_dirs(out: &Path, plans: &[FilePlan]) -> Result<()> {
    let prefix = format!("{ACCOUNT_ID}_vpcflowlogs_{REGION}_{FLOW_LOG_ID}_");
    remove_old_logs(&log_dir(out), &prefix)?;
    create_dirs(out, plans.iter().map(|p| p.rel_path.as_str()))
}

/// Removes the log files (`.log.gz`, `.log`, `.log.parquet`) below `root` whose name starts with `prefix`
/// (one flow log's files): a dataset generated again replaces the old one, and other files
/// are left alone. Nothing to do when `root` does not exist.
pub(crate) fn remove_old_logs(root: &Path, prefix: &str) -> Result<()> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let log = [".log.gz", ".log", ".log.parquet"]
                .iter()
                .any(|ext| name.ends_with(ext));
            if name.starts_with(prefix) && log {
                fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Creates the directory of each file to be written (paths relative to `out`).
pub(crate) fn create_dirs<'a>(out: &Path, rel_paths: impl Iterator<Item = &'a str>) -> Result<()> {
    for rel in rel_paths {
        let path = out.join(rel);
        let dir = path.parent().expect("log path has a parent");
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// A log file being written: plain text, or through a gzip encoder (one member; a
/// multi-member file takes the writer back with `into_inner` and starts another), or
/// turned into Parquet.
pub(crate) enum Sink {
    Plain(BufWriter<File>),
    Gz(Box<GzEncoder<BufWriter<File>>>),
    #[cfg(feature = "parquet")]
    Parquet(Box<parquet::ParquetSink>),
}

impl Sink {
    /// As `--no-gzip`, `--file-format` and `--level` ask.
    pub(crate) fn new(w: BufWriter<File>, args: &GenerateOptions) -> Sink {
        #[cfg(feature = "parquet")]
        if args.parquet() {
            return Sink::Parquet(Box::new(parquet::ParquetSink::new(w, args.level)));
        }
        if args.no_gzip {
            Sink::Plain(w)
        } else {
            Sink::Gz(Box::new(GzEncoder::new(w, Compression::new(args.level))))
        }
    }

    pub(crate) fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.write_all(b),
            Sink::Gz(w) => w.write_all(b),
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.write_all(b),
        }
    }

    /// Ends the gzip member, if any, and gives the file's writer back.
    pub(crate) fn into_inner(self) -> std::io::Result<BufWriter<File>> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Gz(w) => w.finish(),
            #[cfg(feature = "parquet")]
            Sink::Parquet(w) => w.finish(),
        }
    }
}

struct Counter {
    stats: FileStats,
    buf: Vec<u8>,
}

impl Counter {
    fn add(&mut self, r: &Rec, kind: FormatKind, topo: &Topology) {
        write_line(&mut self.buf, kind, topo, r);
        let s = &mut self.stats;
        s.records += 1;
        match r.status {
            Status::Ok => {
                s.ok_records += 1;
                if r.accept {
                    s.accept_records += 1;
                } else {
                    s.reject_records += 1;
                }
                if topo.addr(r.src).v6 {
                    s.ipv6_records += 1;
                }
            }
            Status::NoData => s.nodata_records += 1,
            Status::SkipData => s.skipdata_records += 1,
        }
        s.first_start = s.first_start.min(r.start);
        s.last_end = s.last_end.max(r.end);
    }
}

fn write_file(
    args: &GenerateOptions,
    topo: &Topology,
    p: &FilePlan,
    inc: &[Rec],
) -> Result<FileStats> {
    let path = args.out.join(&p.rel_path);
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let new_sink = |w: BufWriter<File>| Sink::new(w, args);
    let sink = new_sink(BufWriter::with_capacity(1 << 17, file));
    let header = p.format.header();
    let mut c = Counter {
        stats: FileStats {
            path: p.rel_path.clone(),
            format: p.format.name().into(),
            header: header.clone(),
            gzip_members: if args.no_gzip || args.parquet() { 0 } else { 1 },
            lines: 0,
            // A Parquet file's schema is its header: it has no header line.
            header_lines: u64::from(!args.parquet()),
            records: 0,
            ok_records: 0,
            nodata_records: 0,
            skipdata_records: 0,
            accept_records: 0,
            reject_records: 0,
            ipv6_records: 0,
            incident_records: inc.len() as u64,
            first_start: u64::MAX,
            last_end: 0,
            size_bytes: 0,
        },
        buf: Vec::with_capacity(1 << 17),
    };
    c.buf.extend_from_slice(header.as_bytes());
    c.buf.push(b'\n');

    let total = p.normal_budget + inc.len() as u64;
    let split_at = (p.members == 2).then_some(total / 2);
    let mut split_done = false;
    let mut flush = |c: &mut Counter, sink: &mut Option<Sink>, force: bool| -> Result<()> {
        let want_split = split_at.is_some_and(|at| !split_done && c.stats.records >= at);
        if c.buf.len() < (1 << 16) && !force && !want_split {
            return Ok(());
        }
        let s = sink.as_mut().expect("sink present");
        s.write_all(&c.buf)?;
        c.buf.clear();
        if want_split {
            // Close the first gzip member and start a second one in the same file.
            let w = sink.take().expect("sink present").into_inner()?;
            *sink = Some(new_sink(w));
            c.stats.gzip_members = 2;
            split_done = true;
        }
        Ok(())
    };
    let mut sink = Some(sink);

    let mut gen = FileGen {
        topo,
        rng: Rng::derive(args.seed, p.index as u64),
        t_max: p.t1.saturating_sub(WINDOW + 6).max(p.t0),
    };
    let span = gen.t_max - p.t0;
    let budget = p.normal_budget;
    // Scheduled NODATA records: the bastion (which never sees traffic) once per minute, and
    // every other ENI once per file at a random minute; thinned when the budget is small.
    let minutes: Vec<u64> = (p.t0.div_ceil(WINDOW)..=gen.t_max / WINDOW)
        .map(|m| m * WINDOW)
        .collect();
    let mut nodata: Vec<(u64, usize)> = minutes.iter().map(|&m| (m, topo.bastion)).collect();
    if !minutes.is_empty() {
        for e in (0..topo.enis.len()).filter(|&e| e != topo.bastion) {
            nodata.push((*gen.rng.pick(&minutes), e));
        }
    }
    nodata.sort_unstable();
    let keep = nodata.len().min((budget / 8) as usize);
    let nodata: Vec<(u64, usize)> = (0..keep)
        .map(|j| nodata[j * nodata.len() / keep.max(1)])
        .collect();
    let mut ni = 0;
    let mut ii = 0;
    let mut emitted = 0u64;
    let mut tmp: Vec<Rec> = Vec::with_capacity(64);
    while emitted < budget {
        let t = p.t0 + span * emitted / budget;
        while ii < inc.len() && inc[ii].start <= t {
            c.add(&inc[ii], p.format, topo);
            ii += 1;
        }
        if ni < nodata.len() && nodata[ni].0 <= t {
            let (m, e) = nodata[ni];
            let end = m + WINDOW - 1 - gen.rng.range(0, 2);
            c.add(&Rec::empty(e, Status::NoData, m, end), p.format, topo);
            ni += 1;
            emitted += 1;
        } else {
            gen.event(t, (budget - emitted) as usize, &mut tmp);
            emitted += tmp.len() as u64;
            for r in tmp.drain(..) {
                c.add(&r, p.format, topo);
            }
        }
        flush(&mut c, &mut sink, false)?;
    }
    for r in &inc[ii..] {
        c.add(r, p.format, topo);
        flush(&mut c, &mut sink, false)?;
    }
    flush(&mut c, &mut sink, true)?;
    let mut w = sink.take().expect("sink present").into_inner()?;
    w.flush()?;
    drop(w);
    c.stats.lines = c.stats.records + c.stats.header_lines;
    if c.stats.first_start == u64::MAX {
        c.stats.first_start = p.t0;
    }
    c.stats.size_bytes = fs::metadata(&path)?.len();
    Ok(c.stats)
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(f);
    serde_json::to_writer_pretty(&mut w, v)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(())
}

fn manifest(
    args: &GenerateOptions,
    topo: &Topology,
    plans: &[FilePlan],
    stats: &[FileStats],
    totals: &Totals,
    inc: Option<&IncidentFacts>,
) -> Value {
    let mut formats = BTreeMap::new();
    for p in plans {
        formats.insert(p.format.name(), json!({"version": p.format.version(), "log_format": p.format.log_format(), "header": p.format.header()}));
    }
    let sg = |k: &str| topo.sgs[topo.sg(k)].id.clone();
    let enis: Vec<Value> = topo
        .enis
        .iter()
        .map(|e| {
            json!({
                "role": e.key,
                "kind": format!("{:?}", e.kind),
                "id": e.id,
                "private_ip": topo.addr(e.ip).text,
                "ipv6": e.ipv6.map(|a| topo.addr(a).text.clone()),
                "public_ip": e.public_ip,
                "subnet_id": topo.subnets[e.subnet].id,
                "security_groups": e.sgs.iter().map(|&g| topo.sgs[g].id.clone()).collect::<Vec<_>>(),
                "interface_type": e.interface_type,
                "has_traffic": !matches!(e.kind, EniKind::Bastion),
            })
        })
        .collect();
    let groups: Vec<Value> = topo
        .sgs
        .iter()
        .map(|g| json!({"key": g.key, "id": g.id, "name": g.name, "logical_id": g.logical_id}))
        .collect();
    let rule = |k: &str, port: &str, source: &str, verdict: &str, observed: Vec<String>| {
        json!({"group_id": sg(k), "group_name": topo.sgs[topo.sg(k)].name, "direction": "ingress",
               "protocol": "tcp", "ports": port, "source": source, "verdict": verdict,
               "observed_initiator_groups": observed})
    };
    let expectations = json!({
        "overbroad_rules": [
            rule("orders-task", "8080", "0.0.0.0/0", "over-broad", vec![sg("alb"), sg("checkout-task")]),
            rule("checkout-task", "8080", "0.0.0.0/0", "over-broad", vec![sg("alb")]),
            rule("catalog-task", "8080", "0.0.0.0/0", "over-broad", vec![sg("alb")]),
            rule("carts-task", "8080", "0.0.0.0/0", "over-broad", vec![sg("alb")]),
            rule("catalog-task", "8080-8090", VPC_CIDR, "only port 8080 used", vec![sg("alb")]),
        ],
        "unused_rules": [
            rule("orders-task", "9000-9100", VPC_CIDR, "unused", vec![]),
            rule("bastion", "22", "0.0.0.0/0", "unused (ENI has only NODATA records)", vec![]),
        ],
        "used_rules": [
            rule("alb", "443", "0.0.0.0/0,::/0", "used by internet clients", vec![]),
            rule("alb", "80", "0.0.0.0/0", "used by internet clients", vec![]),
            rule("orders-rds", "5432", &sg("orders-task"), "used", vec![sg("orders-task")]),
            rule("catalog-rds", "3306", &sg("catalog-task"), "used", vec![sg("catalog-task")]),
            rule("redis", "6379", &sg("checkout-task"), "used", vec![sg("checkout-task")]),
            rule("vpce", "443", VPC_CIDR, "used by all task groups", vec![sg("orders-task"), sg("checkout-task"), sg("catalog-task"), sg("carts-task")]),
            rule("guardduty", "443", VPC_CIDR, "used by all task groups", vec![sg("orders-task"), sg("checkout-task"), sg("catalog-task"), sg("carts-task")]),
        ],
        "egress_initiated_by": {
            "alb": "tcp 8080 to the four task groups",
            "tasks": "tcp 8080 (checkout->orders), 5432, 3306, 6379, 443 to endpoints, 443 to the internet via the NAT gateway, 443 to DynamoDB (carts)",
            "rds, redis, vpce, guardduty, bastion": "none (response traffic only)"
        },
        "unused_security_groups": [sg("default")],
        "no_traffic_enis": [topo.enis[topo.bastion].id.clone()],
        "enis_without_security_groups": [topo.enis[topo.nat].id.clone()],
        "notes": "Internet scanners (background) are REJECTed at the ALB ENIs (inbound records only). Task ENIs are private (no public IP)."
    });
    json!({
        "generator": "flowscope generate",
        "generator_version": env!("CARGO_PKG_VERSION"),
        "args": {
            "records": args.records, "files": plans.len(), "single_file": args.single_file,
            "start": args.start, "hours": args.hours, "seed": args.seed,
            "format": format!("{:?}", args.format).to_lowercase(),
            "gzip": !args.no_gzip && !args.parquet(),
            "file_format": if args.parquet() { "parquet" } else { "text" },
            "level": args.level, "incidents": args.incidents, "inventory": !args.no_inventory,
        },
        "account_id": ACCOUNT_ID,
        "region": REGION,
        "vpc_id": VPC_ID,
        "vpc_cidr": VPC_CIDR,
        "vpc_ipv6_cidr": topology::VPC_IPV6_CIDR,
        "flow_log_id": FLOW_LOG_ID,
        "window_start": args.start,
        "window_end": args.start + args.hours * 3600,
        "aggregation_interval_seconds": WINDOW,
        "formats": formats,
        "totals": totals,
        "files": stats,
        "peers": {
            "internet_clients_ipv4": topo.clients_v4.len(),
            "internet_clients_ipv6": topo.clients_v6.len(),
            "scanners": topo.scanners.iter().map(|&a| topo.addr(a).text.clone()).collect::<Vec<_>>(),
            "nat_destinations": topo.nat_dests.iter().map(|&a| topo.addr(a).text.clone()).collect::<Vec<_>>(),
            "dynamodb": topo.dynamodb.iter().map(|&a| topo.addr(a).text.clone()).collect::<Vec<_>>(),
        },
        "subnets": topo.subnets.iter().map(|s| json!({
            "key": s.key, "id": s.id, "cidr": s.cidr, "ipv6_cidr": s.ipv6_cidr,
            "availability_zone": s.az, "az_id": s.az_id,
        })).collect::<Vec<_>>(),
        "network_interfaces": enis,
        "security_groups": groups,
        "expectations": expectations,
        "incidents": inc,
    })
}

#[cfg(test)]
mod tests;
