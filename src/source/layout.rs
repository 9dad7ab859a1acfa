//! AWS's key layout: which names are flow-log objects
//! (`looks_like_log`), and time pruning: which date prefixes and which
//! objects can hold records of a `--since/--until` window.
//!
//! AWS delivers flow logs to `…/AWSLogs/<account>/vpcflowlogs/<region>/
//! YYYY/MM/DD/[HH/]` (or the Hive form `…/aws-service=vpcflowlogs/
//! aws-region=<r>/year=YYYY/month=MM/day=DD/[hour=HH/]`), in files named
//! `<account>_vpcflowlogs_<region>_<flow-log-id>_<YYYYMMDDTHHmmZ>_<hash>`
//! whose time is the end of the delivery window. A file named T holds
//! records that ended by T and started at most an aggregation interval
//! plus the delivery delay before it; both are best effort, so the
//! margins below are generous: pruning must never drop a record of the
//! window, and reading a few files too many only costs time.

use std::path::Path;

use crate::time::days_from_civil;

/// A file named T may hold a record ending a little after T (clock skew
/// between the capture and the name): files up to this long before
/// `--since` are read.
const EARLY: u64 = 10 * 60;

/// A file named T holds records up to an aggregation interval (10 min)
/// plus the delivery delay (about 10 min, best effort) older than T:
/// files up to this long after `--until` are read.
const LATE: u64 = 60 * 60;

/// A date folder and the time in the names of its files may disagree by
/// one delivery window at the folder's edges (which end of the window
/// names the folder is not documented).
const FOLDER_SLACK: u64 = 5 * 60;

/// The `--since/--until` window (epoch seconds) that pruning keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since: Option<u64>,
    pub until: Option<u64>,
}

impl Window {
    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// True when a file named with time `t` may hold a record of the window.
    pub fn wants_file_time(&self, t: u64) -> bool {
        self.since.is_none_or(|s| t.saturating_add(EARLY) >= s)
            && self.until.is_none_or(|u| t <= u.saturating_add(LATE))
    }

    /// True when some file named with a time in `[start, end)` may hold a
    /// record of the window.
    fn wants_range(&self, start: u64, end: u64) -> bool {
        let (start, end) = (start.saturating_sub(FOLDER_SLACK), end + FOLDER_SLACK);
        // Its latest file time late enough, its earliest early enough.
        self.since.is_none_or(|s| end - 1 + EARLY >= s)
            && self.until.is_none_or(|u| start <= u.saturating_add(LATE))
    }

    /// True unless the key (or local path, `/`-separated), by its date
    /// folders or its file name, can hold no record of the window. Keys
    /// outside the layout are always wanted.
    pub fn wants_key(&self, key: &str) -> bool {
        if self.is_open() {
            return true;
        }
        let parts: Vec<&str> = key.split('/').collect();
        let (dirs, name) = parts.split_at(parts.len().saturating_sub(1));
        if let Some((start, end)) = date_prefix(dirs).and_then(|d| d.range()) {
            if !self.wants_range(start, end) {
                return false;
            }
        }
        match name.first().and_then(|n| file_time(n)) {
            Some(t) => self.wants_file_time(t),
            None => true,
        }
    }

    /// True unless every key under the folder `dirs` (its components)
    /// is outside the window by its date folders.
    pub fn wants_prefix(&self, dirs: &[&str]) -> bool {
        match date_prefix(dirs).and_then(|d| d.range()) {
            Some((start, end)) => self.wants_range(start, end),
            None => true,
        }
    }
}

/// How far down the date folders a folder path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DatePrefix {
    /// The folders after the region: `None` when the path has not reached
    /// the layout's date folders (or they are not dates).
    pub year: Option<u32>,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub hour: Option<u32>,
    /// Whether the layout's anchor (`vpcflowlogs/<region>`) was found.
    pub anchored: bool,
    /// Whether a folder after the anchor was not the next date part: the
    /// path has left the layout, nothing below it is pruned by folder.
    pub left: bool,
}

impl DatePrefix {
    /// The file times `[start, end)` this folder can hold, if it is at
    /// least a year folder.
    pub fn range(&self) -> Option<(u64, u64)> {
        if self.left {
            return None;
        }
        let y = self.year? as i64;
        let day = |y: i64, m: u32, d: u32| days_from_civil(y, m, d) as u64 * 86_400;
        Some(match (self.month, self.day, self.hour) {
            (None, _, _) => (day(y, 1, 1), day(y + 1, 1, 1)),
            (Some(m), None, _) => {
                let next = if m == 12 {
                    day(y + 1, 1, 1)
                } else {
                    day(y, m + 1, 1)
                };
                (day(y, m, 1), next)
            }
            (Some(m), Some(d), None) => (day(y, m, d), day(y, m, d) + 86_400),
            (Some(m), Some(d), Some(h)) => {
                let s = day(y, m, d) + h as u64 * 3600;
                (s, s + 3600)
            }
        })
    }

    /// True when the folder is an hour folder, or a day folder of a
    /// layout without hours: nothing under it is pruned by folder.
    pub fn complete(&self) -> bool {
        self.left || self.hour.is_some()
    }
}

/// Reads the date folders of a folder path. The anchor is a
/// `vpcflowlogs` folder followed by the region (plain layout), or
/// `aws-service=vpcflowlogs` followed by `aws-region=…` (Hive layout);
/// the date parts must follow it in order, each in range, or the path
/// counts as outside the layout.
pub fn date_prefix(dirs: &[&str]) -> Option<DatePrefix> {
    let (at, hive) = dirs.iter().enumerate().rev().find_map(|(i, d)| match *d {
        "vpcflowlogs" => Some((i, false)),
        "aws-service=vpcflowlogs" => Some((i, true)),
        _ => None,
    })?;
    let mut p = DatePrefix {
        anchored: true,
        ..Default::default()
    };
    let rest = &dirs[at + 1..];
    let Some((region, dates)) = rest.split_first() else {
        return Some(p);
    };
    if hive && !region.starts_with("aws-region=") {
        p.left = true;
        return Some(p);
    }
    let parts: [(&str, usize, u32, u32); 4] = [
        ("year=", 4, 1970, 9999),
        ("month=", 2, 1, 12),
        ("day=", 2, 1, 31),
        ("hour=", 2, 0, 23),
    ];
    for (i, d) in dates.iter().enumerate() {
        let Some(&(key, width, lo, hi)) = parts.get(i) else {
            p.left = true;
            break;
        };
        let digits = if hive { d.strip_prefix(key) } else { Some(*d) };
        let v = digits
            .filter(|s| s.len() == width && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|v| (lo..=hi).contains(v));
        let Some(v) = v else {
            p.left = true;
            break;
        };
        match i {
            0 => p.year = Some(v),
            1 => p.month = Some(v),
            2 => p.day = Some(v),
            _ => p.hour = Some(v),
        }
    }
    Some(p)
}

/// The time in a flow-log file name (`…_vpcflowlogs_…_20251120T0005Z_…`),
/// epoch seconds; None for any other name.
pub fn file_time(name: &str) -> Option<u64> {
    if !name.contains("_vpcflowlogs_") {
        return None;
    }
    name.split('_').find_map(|f| {
        let b = f.as_bytes();
        let ok = b.len() == 14
            && b[8] == b'T'
            && b[13] == b'Z'
            && b[..8].iter().chain(&b[9..13]).all(u8::is_ascii_digit);
        if !ok {
            return None;
        }
        let n = |r: std::ops::Range<usize>| f[r].parse::<u32>().ok();
        let (y, m, d, h, mi) = (n(0..4)?, n(4..6)?, n(6..8)?, n(9..11)?, n(11..13)?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || y < 1970 {
            return None;
        }
        let days = days_from_civil(y as i64, m, d) as u64;
        Some(days * 86_400 + h as u64 * 3600 + mi as u64 * 60)
    })
}

/// A file or object named like a flow log: `.log`, `.gz`, `.zst`,
/// `.txt`, `.parquet`, or a Firehose object (walked directories and
/// listed S3 prefixes take only these).
pub fn looks_like_log(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    !name.starts_with('.')
        && ([".log", ".gz", ".zst", ".txt", ".parquet"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || firehose_object(&name))
}

/// A Firehose S3 object's name, which has no extension when Firehose does
/// not compress (the usual setup for CloudWatch Logs subscriptions, whose
/// records are gzip already): `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`.
fn firehose_object(name: &str) -> bool {
    let b = name.as_bytes();
    // `-YYYY-MM-DD-HH-MM-SS-` (21 bytes) then a 36-byte UUID.
    let Some(time) = b.len().checked_sub(57).map(|at| &b[at..b.len() - 36]) else {
        return false;
    };
    let uuid = &b[b.len() - 36..];
    let time_ok = time.iter().enumerate().all(|(i, c)| match i {
        0 | 5 | 8 | 11 | 14 | 17 | 20 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    let uuid_ok = uuid.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    time_ok && uuid_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY20: u64 = 1_763_596_800; // 2025-11-20T00:00:00Z

    fn win(since: u64, until: u64) -> Window {
        Window {
            since: Some(since),
            until: Some(until),
        }
    }

    #[test]
    fn file_time_reads_aws_names_only() {
        let n = "123456789012_vpcflowlogs_us-east-1_fl-0a1b_20251120T0005Z_b522ac4a.log.gz";
        assert_eq!(file_time(n), Some(DAY20 + 300));
        assert_eq!(file_time("20251120T0005Z.log.gz"), None);
        assert_eq!(file_time("x_vpcflowlogs_20251320T0005Z_a.log"), None);
        assert_eq!(file_time("x_vpcflowlogs_20251120T0060Z_a.log"), None);
    }

    #[test]
    fn date_prefix_plain_and_hive() {
        let p = date_prefix(&["AWSLogs", "1", "vpcflowlogs", "us-east-1", "2025", "11"]).unwrap();
        assert_eq!((p.year, p.month, p.day), (Some(2025), Some(11), None));
        let h = [
            "AWSLogs",
            "aws-account-id=1",
            "aws-service=vpcflowlogs",
            "aws-region=us-east-1",
            "year=2025",
            "month=11",
            "day=20",
            "hour=05",
        ];
        let p = date_prefix(&h).unwrap();
        assert_eq!(p.range(), Some((DAY20 + 5 * 3600, DAY20 + 6 * 3600)));
        assert!(p.complete());
        // Not dates where dates belong: the layout is left, nothing pruned.
        let p = date_prefix(&["vpcflowlogs", "r", "2025", "old"]).unwrap();
        assert!(p.left && p.range().is_none());
        assert!(date_prefix(&["logs", "2025", "11"]).is_none());
        // Only the region follows the anchor yet.
        let p = date_prefix(&["vpcflowlogs", "eu-west-1"]).unwrap();
        assert!(p.anchored && p.range().is_none() && !p.complete());
    }

    #[test]
    fn month_ranges_cross_year_end() {
        let p = date_prefix(&["vpcflowlogs", "r", "2025", "12"]).unwrap();
        let (s, e) = p.range().unwrap();
        assert_eq!(e - s, 31 * 86_400);
    }

    #[test]
    fn keys_at_window_edges_are_kept() {
        let dir = "AWSLogs/1/vpcflowlogs/us-east-1/2025/11/20/";
        let key =
            |hhmm: &str| format!("{dir}1_vpcflowlogs_us-east-1_fl-1_20251120T{hhmm}Z_h.log.gz");
        // Window 10:00–11:00.
        let w = win(DAY20 + 10 * 3600, DAY20 + 11 * 3600);
        assert!(w.wants_key(&key("1000")));
        assert!(
            w.wants_key(&key("0955")),
            "a record may end after its file's time"
        );
        assert!(!w.wants_key(&key("0945")));
        assert!(w.wants_key(&key("1155")), "late delivery: kept for an hour");
        assert!(!w.wants_key(&key("1205")));
        // Other days' folders, whatever the file name says.
        assert!(!w.wants_key("AWSLogs/1/vpcflowlogs/us-east-1/2025/11/21/x.log.gz"));
        assert!(w.wants_key("AWSLogs/1/vpcflowlogs/us-east-1/2025/11/20/x.log.gz"));
        // Outside the layout: always read.
        assert!(w.wants_key("elsewhere/2025/11/21/x.log.gz"));
        // The day before, for a window starting at midnight: its last
        // files may hold records of the window.
        let w = win(DAY20, DAY20 + 3600);
        assert!(w.wants_prefix(&["vpcflowlogs", "r", "2025", "11", "19"]));
        assert!(!w.wants_prefix(&["vpcflowlogs", "r", "2025", "11", "18"]));
        assert!(!w.wants_prefix(&["vpcflowlogs", "r", "2024"]));
        assert!(w.wants_prefix(&["vpcflowlogs", "r", "2025"]));
        // Only one bound.
        let w = Window {
            since: Some(DAY20),
            until: None,
        };
        assert!(w.wants_prefix(&["vpcflowlogs", "r", "2026"]));
        assert!(!w.wants_prefix(&["vpcflowlogs", "r", "2025", "10"]));
    }

    #[test]
    fn firehose_objects_without_an_extension_look_like_logs() {
        let name = "flowlogs-stream-1-2025-11-20-00-15-02-0b3e4a1c-9d2f-4e1a-8b7c-1234567890ab";
        assert!(looks_like_log(Path::new(name)));
        for other in [
            "aws-logs-write-test",
            "manifest.json",
            "flowlogs-stream-1-2025-11-20-00-15-02-0b3e4a1c-9d2f-4e1a-8b7c-1234567890",
            "flowlogs-stream-1-2025-11-20-00-15-0x-0b3e4a1c-9d2f-4e1a-8b7c-1234567890ab",
        ] {
            assert!(!looks_like_log(Path::new(other)), "{other}");
        }
    }
}
