//! UTC calendar times: RFC 3339 in and out, and the civil date of an
//! epoch second. The one implementation the flags (`--since`, `generate
//! --start`), the reports and the generator's S3 paths share.
//!
//! Hand-written rather than the `jiff` crate (jiff 0.2 without its
//! time-zone database costs about 4 s of CPU to build cold, which would
//! have been acceptable): flow-log `start`/`end` fields are any u64 and
//! reports print whatever the logs hold, while jiff stops at the year
//! 9999, so it would have needed a second, hand-written path for the rest;
//! and jiff accepts forms `--since` refuses (`+0200` offsets). The calendar is proleptic Gregorian, days counted with
//! Howard Hinnant's algorithms; times are UTC and leap seconds do not
//! exist (`:60` reads as `:59`).

/// A UTC date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl DateTime {
    /// The date and time of an epoch second.
    pub fn from_epoch(t: u64) -> DateTime {
        let (year, month, day) = civil_from_days((t / 86_400) as i64);
        let secs = (t % 86_400) as u32;
        DateTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }
}

/// Epoch seconds as RFC 3339 in UTC: `2025-11-20T10:00:00Z`.
pub fn fmt_time(t: u64) -> String {
    let d = DateTime::from_epoch(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year, d.month, d.day, d.hour, d.minute, d.second
    )
}

/// RFC 3339 (`2025-11-20T12:00:00+02:00`, `Z`, `t`/space for `T`,
/// fractional seconds ignored), a date alone (midnight UTC), or a date and
/// time without offset (UTC, seconds optional), as epoch seconds. None
/// for anything else, and for times before 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = b.get(r)?;
        if t.is_empty() || !t.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        std::str::from_utf8(t).ok()?.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year as i64, month) {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    if days < 0 {
        return None;
    }
    let mut secs = days as u64 * 86400;
    if b.len() == 10 {
        return Some(secs);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (h, m) = (num(11..13)?, num(14..16)?);
    let mut i = 16;
    let mut sec = 0;
    if b.get(i) == Some(&b':') {
        sec = num(17..19)?;
        i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
    }
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    secs += (h * 3600 + m * 60 + sec.min(59)) as u64;
    let offset: i64 = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 3600 + om * 60) as i64;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let t = secs as i64 - offset;
    u64::try_from(t).ok()
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 → (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_and_days_roundtrip() {
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_time(1763596800), "2025-11-20T00:00:00Z");
        assert_eq!(fmt_time(951782400), "2000-02-29T00:00:00Z");
        for d in [-1000i64, 0, 10957, 20412, 60000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn every_time_a_log_can_hold_formats_and_parses_back() {
        // Records carry any u64: past the year 9999 too (why not jiff).
        assert_eq!(fmt_time(253_402_300_800), "10000-01-01T00:00:00Z");
        assert!(fmt_time(u64::MAX).ends_with('Z'));
        let mut rng = crate::XorShift(0x1234_5678);
        for _ in 0..2000 {
            let t = rng.next() % 253_402_300_800; // years 1970 to 9999
            assert_eq!(parse_rfc3339(&fmt_time(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn date_time_of_an_epoch_second() {
        let d = DateTime::from_epoch(951_782_400 + 3600 + 61);
        assert_eq!(
            (d.year, d.month, d.day, d.hour, d.minute, d.second),
            (2000, 2, 29, 1, 1, 1)
        );
    }
}
