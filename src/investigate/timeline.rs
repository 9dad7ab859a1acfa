//! Per-interval counts of flows, packets and bytes, by record start time,
//! so a spike shows. Reusable by any processor: `add` per record, `merge`
//! per worker, then `write_text` (table and sparklines) or `to_json`.
//!
//! Memory: one entry per non-empty bucket, so `1s` buckets over a month
//! of logs can reach millions of entries; pick the bucket to suit the span.

use std::io::{self, Write};

use hashbrown::HashMap;
use serde::Serialize;

use crate::flowlog::record::FlowRecord;
use crate::report::{fmt_time, human_bytes, thousands};

/// Counts in one bucket.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BucketStat {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
}

impl BucketStat {
    fn add(&mut self, o: &BucketStat) {
        self.flows += o.flows;
        self.packets = self.packets.saturating_add(o.packets);
        self.bytes = self.bytes.saturating_add(o.bytes);
    }
}

/// Counts per fixed-width interval (aligned to the epoch: 5m buckets
/// start at :00, :05, ...).
#[derive(Debug, Clone)]
pub struct Timeline {
    width: u64,
    buckets: HashMap<u64, BucketStat>,
    /// Records without a start or end time (not in any bucket).
    untimed: u64,
}

/// JSON form: non-empty buckets in time order (empty ones are omitted).
#[derive(Debug, Serialize)]
pub struct TimelineJson {
    pub bucket_seconds: u64,
    pub buckets: Vec<BucketJson>,
    /// Records that had no start time and so are in no bucket.
    pub untimed: u64,
}

#[derive(Debug, Serialize)]
pub struct BucketJson {
    /// Bucket start, epoch seconds.
    pub start: u64,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// Tables longer than this print only the sparklines.
const MAX_TABLE_ROWS: usize = 100;
/// Sparkline width in characters (buckets are summed in groups beyond it).
const SPARK_WIDTH: usize = 72;

impl Timeline {
    /// `width`: bucket size in seconds (> 0).
    pub fn new(width: u64) -> Timeline {
        Timeline {
            width: width.max(1),
            buckets: HashMap::new(),
            untimed: 0,
        }
    }

    /// Bucket size in seconds.
    pub fn width(&self) -> u64 {
        self.width
    }

    /// Adds a record by its start time (its end when start is absent).
    #[inline]
    pub fn add(&mut self, rec: &FlowRecord) {
        match rec.start.or(rec.end) {
            Some(t) => self.add_at(t, rec.flows, rec.packets, rec.bytes),
            None => self.untimed += rec.flows,
        }
    }

    /// Adds counts at time `t` (epoch seconds).
    #[inline]
    pub fn add_at(&mut self, t: u64, flows: u64, packets: u64, bytes: u64) {
        let b = self.buckets.entry(t - t % self.width).or_default();
        b.flows += flows;
        b.packets = b.packets.saturating_add(packets);
        b.bytes = b.bytes.saturating_add(bytes);
    }

    /// Adds another worker's counts (same bucket width).
    pub fn merge(&mut self, o: Timeline) {
        debug_assert_eq!(self.width, o.width);
        for (k, v) in o.buckets {
            self.buckets.entry(k).or_default().add(&v);
        }
        self.untimed += o.untimed;
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Non-empty buckets in time order: (bucket start, counts).
    pub fn buckets(&self) -> Vec<(u64, BucketStat)> {
        let mut v: Vec<(u64, BucketStat)> = self.buckets.iter().map(|(k, v)| (*k, *v)).collect();
        v.sort_unstable_by_key(|b| b.0);
        v
    }

    /// Number of buckets from the first to the last, empty ones included.
    pub fn span_buckets(&self) -> u64 {
        let (Some(lo), Some(hi)) = (self.buckets.keys().min(), self.buckets.keys().max()) else {
            return 0;
        };
        ((hi - lo) / self.width).saturating_add(1)
    }

    pub fn to_json(&self) -> TimelineJson {
        TimelineJson {
            bucket_seconds: self.width,
            buckets: self
                .buckets()
                .into_iter()
                .map(|(start, b)| BucketJson {
                    start,
                    flows: b.flows,
                    packets: b.packets,
                    bytes: b.bytes,
                })
                .collect(),
            untimed: self.untimed,
        }
    }

    /// One sparkline character per bucket (or per group of buckets when
    /// the span is wider than `max_width`); `pick` chooses the metric.
    pub fn sparkline(&self, max_width: usize, pick: impl Fn(&BucketStat) -> u64) -> String {
        let sorted = self.buckets();
        let Some(first) = sorted.first().map(|b| b.0) else {
            return String::new();
        };
        let span = self.span_buckets() as usize;
        let group = span.div_ceil(max_width.max(1));
        let mut cols = vec![0u64; span.div_ceil(group)];
        for (t, b) in &sorted {
            let c = &mut cols[((t - first) / self.width) as usize / group];
            *c = c.saturating_add(pick(b));
        }
        sparkline(&cols)
    }

    /// Text view: a header line, a row per bucket (when there are at
    /// most 100), and flows/bytes sparklines with their peaks; the table
    /// within `fit` columns when given (`report::Style`).
    pub fn write_text(&self, w: &mut dyn Write, fit: Option<usize>) -> io::Result<()> {
        let sorted = self.buckets();
        let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
            return writeln!(w, "timeline: no records with a time");
        };
        let span = self.span_buckets();
        writeln!(
            w,
            "timeline: {} buckets from {} to {} ({} of them empty)",
            fmt_width(self.width),
            fmt_time(first.0),
            fmt_time(last.0.saturating_add(self.width)),
            span - sorted.len() as u64
        )?;
        if span as usize <= MAX_TABLE_ROWS {
            let mut t = crate::report::Table::new(&[
                ("bucket", false),
                ("flows", true),
                ("packets", true),
                ("bytes", true),
            ]);
            let mut i = 0;
            for k in 0..span {
                let start = first.0 + k * self.width;
                let b = if sorted.get(i).is_some_and(|b| b.0 == start) {
                    i += 1;
                    sorted[i - 1].1
                } else {
                    BucketStat::default()
                };
                t.push(vec![
                    fmt_time(start),
                    thousands(b.flows),
                    thousands(b.packets),
                    human_bytes(b.bytes),
                ]);
            }
            t.write_fit(w, false, fit)?;
        }
        let group = (span as usize).div_ceil(SPARK_WIDTH) as u64;
        let per = if group > 1 {
            format!(" (one character = {})", fmt_width(self.width * group))
        } else {
            String::new()
        };
        let peak = |pick: fn(&BucketStat) -> u64| {
            sorted
                .iter()
                .max_by(|a, b| pick(&a.1).cmp(&pick(&b.1)).then(b.0.cmp(&a.0)))
                .map(|(t, b)| (*t, pick(b)))
                .unwrap_or_default()
        };
        let (pf_t, pf) = peak(|b| b.flows);
        let (pb_t, pb) = peak(|b| b.bytes);
        writeln!(
            w,
            "flows  {}  peak {} at {}{per}",
            self.sparkline(SPARK_WIDTH, |b| b.flows),
            thousands(pf),
            fmt_time(pf_t)
        )?;
        writeln!(
            w,
            "bytes  {}  peak {} at {}",
            self.sparkline(SPARK_WIDTH, |b| b.bytes),
            human_bytes(pb),
            fmt_time(pb_t)
        )?;
        if self.untimed > 0 {
            writeln!(
                w,
                "({} records without a start time are in no bucket)",
                self.untimed
            )?;
        }
        Ok(())
    }
}

/// Bucket width for people: `5m`, `1h`, `90s`.
pub fn fmt_width(secs: u64) -> String {
    for (unit, n) in [("d", 86400), ("h", 3600), ("m", 60)] {
        if secs.is_multiple_of(n) {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// ▁▂▃▄▅▆▇█ scaled to the maximum; zero is a space, any non-zero value
/// at least ▁.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                let level = ((v as u128 * 8).div_ceil(max as u128) as usize).clamp(1, 8);
                BARS[level - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[5, 5]), "██");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(sparkline(&[1, 1000]), "▁█");
    }

    #[test]
    fn buckets_align_and_merge() {
        let mut a = Timeline::new(300);
        a.add_at(1000, 1, 2, 100); // bucket 900
        a.add_at(1199, 1, 1, 10); // bucket 900
        a.add_at(1200, 1, 1, 1); // bucket 1200
        let mut b = Timeline::new(300);
        b.add_at(2100, 3, 3, 3); // bucket 2100
        b.add(&FlowRecord::default()); // untimed
        a.merge(b);
        let v = a.buckets();
        assert_eq!(
            v.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![900, 1200, 2100]
        );
        assert_eq!(v[0].1.flows, 2);
        assert_eq!(v[0].1.bytes, 110);
        assert_eq!(a.span_buckets(), 5);
        assert_eq!(a.sparkline(100, |b| b.flows), "▆▃  █");
        // Grouped: 5 buckets into at most 3 columns of 2.
        assert_eq!(a.sparkline(3, |b| b.flows), "█ █");
        let j = a.to_json();
        assert_eq!(j.buckets.len(), 3);
        assert_eq!(j.untimed, 1);
        let mut out = Vec::new();
        a.write_text(&mut out, None).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("5m buckets"), "{s}");
        assert!(s.contains("peak 3 at 1970-01-01T00:35:00Z"), "{s}");
    }

    #[test]
    fn widths() {
        assert_eq!(fmt_width(300), "5m");
        assert_eq!(fmt_width(3600), "1h");
        assert_eq!(fmt_width(86400), "1d");
        assert_eq!(fmt_width(90), "90s");
    }
}
