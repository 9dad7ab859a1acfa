//! Parsing of the values investigation flags take: times, durations,
//! port ranges, address ranges, protocols and actions. Each parser returns
//! a message fit for a usage error.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::flowlog::record::{Action, Ip};
use crate::time::parse_rfc3339;

/// The forms `--since`, `--until` and `generate --start` accept, for
/// messages and help.
pub const TIME_FORMS: &str = "RFC 3339 (2025-11-20T10:00:00Z, 2025-11-20T12:00:00+02:00), a date (2025-11-20), \
epoch seconds (1763632800) or milliseconds (1763632800000), or an age like 30m, 1h, 7d, 2w (that long before now)";

/// A time as `--since` (and `generate --start`) takes it: RFC 3339
/// (`2025-11-20T10:00:00Z`, `2025-11-20T12:00:00+02:00`, fractional seconds
/// ignored), a date alone (`2025-11-20`: midnight UTC), a date and time
/// without offset (taken as UTC), epoch seconds (up to 11 digits), epoch
/// milliseconds (13 digits, as CloudWatch exports carry them), or an age
/// (`30s`, `30m`, `1h`, `7d`, `2w`: that long before now).
pub fn parse_time(s: &str) -> Result<u64, String> {
    parse_time_at(s, now(), false)
}

/// A time as `--until` takes it: as `parse_time`, except that a date alone
/// means the end of that day (23:59:59 UTC), so `--since D --until D` is
/// the whole day D.
pub fn parse_until(s: &str) -> Result<u64, String> {
    parse_time_at(s, now(), true)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `parse_time` with the current time given (ages count back from `now`),
/// and a date alone taken as the end of its day when `end_of_day`.
pub fn parse_time_at(s: &str, now: u64, end_of_day: bool) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("'{s}' is not a time: use {TIME_FORMS}");
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.len() {
            // Seconds until the year 5138.
            1..=11 => s.parse::<u64>().map_err(|_| bad()),
            13 => s.parse::<u64>().map(|ms| ms / 1000).map_err(|_| bad()),
            n => Err(format!(
                "'{s}': {n} digits are neither epoch seconds (up to 11) nor milliseconds (13)"
            )),
        };
    }
    if let Some(age) = parse_age(s) {
        return now
            .checked_sub(age?)
            .ok_or_else(|| format!("'{s}' reaches back before 1970"));
    }
    let secs = parse_rfc3339(s).ok_or_else(bad)?;
    // A date alone: its last second when it ends a window.
    Ok(if end_of_day && s.len() == 10 {
        secs + 86_399
    } else {
        secs
    })
}

/// An age: digits and one unit of s, m, h, d, w. None when `s` has not
/// that shape; Some(Err) when it has but overflows.
fn parse_age(s: &str) -> Option<Result<u64, String>> {
    let unit = s.chars().last()?;
    let digits = &s[..s.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    Some(
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
            .ok_or_else(|| format!("'{s}' is too long ago")),
    )
}

/// A duration: `30s`, `5m`, `1h`, `1d`, or bare seconds. Must be > 0.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("'{s}' is not a duration: use 30s, 5m, 1h or 1d");
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    match n.checked_mul(mult) {
        Some(0) => Err(format!("'{s}': the duration must be more than zero")),
        Some(v) => Ok(v),
        None => Err(bad()),
    }
}

/// A port (`443`) or an inclusive range (`8000-8100`).
pub fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("'{s}' is not a port or a port range like 8000-8100");
    let p = |t: &str| t.trim().parse::<u16>().map_err(|_| bad());
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (p(a)?, p(b)?),
        None => {
            let v = p(s)?;
            (v, v)
        }
    };
    if lo > hi {
        return Err(format!("'{s}': the range is reversed (write {hi}-{lo})"));
    }
    Ok((lo, hi))
}

/// An address or a CIDR block, as the inclusive range of `Ip` values it
/// covers. Host bits in a CIDR are ignored (`10.0.1.7/24` = `10.0.1.0/24`).
pub fn parse_addr_range(s: &str) -> Result<(u128, u128), String> {
    let t = s.trim();
    if let Ok(ip) = t.parse::<IpAddr>() {
        let v = Ip::from(ip).0;
        return Ok((v, v));
    }
    let net: IpNet = t.parse().map_err(|_| {
        format!("'{s}' is not an address or CIDR block (10.0.0.0/16, 2600:1f18::/56)")
    })?;
    Ok((Ip::from(net.network()).0, Ip::from(net.broadcast()).0))
}

/// A protocol by IANA number or name (tcp, udp, icmp, icmpv6, gre, esp, sctp).
pub fn parse_protocol(s: &str) -> Result<u8, String> {
    let t = s.trim().to_ascii_lowercase();
    if let Ok(n) = t.parse::<u8>() {
        return Ok(n);
    }
    (0..=255u8)
        .find(|&p| {
            crate::flowlog::record::protocol_name(p) == Some(t.as_str())
                || (t == "icmp6" && p == 58)
        })
        .ok_or_else(|| {
            format!("'{s}' is not a protocol: use a number (0-255) or tcp, udp, icmp, icmpv6")
        })
}

/// ACCEPT or REJECT, any case.
pub fn parse_action(s: &str) -> Result<Action, String> {
    match s.trim().to_ascii_uppercase().as_str() {
        "ACCEPT" => Ok(Action::Accept),
        "REJECT" => Ok(Action::Reject),
        _ => Err(format!("'{s}' is not an action: use ACCEPT or REJECT")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("2025-11-20T00:00:00Z"), Ok(1763596800));
        assert_eq!(parse_time("2025-11-20T10:00:00Z"), Ok(1763596800 + 36000));
        assert_eq!(
            parse_time("2025-11-20T12:00:00+02:00"),
            Ok(1763596800 + 36000)
        );
        assert_eq!(
            parse_time("2025-11-20T09:30:00-00:30"),
            Ok(1763596800 + 36000)
        );
        assert_eq!(
            parse_time("2025-11-20t10:00:00.123456z"),
            Ok(1763596800 + 36000)
        );
        assert_eq!(parse_time("2025-11-20 10:00"), Ok(1763596800 + 36000));
        assert_eq!(parse_time("2025-11-20"), Ok(1763596800));
        assert_eq!(parse_time("1763596800"), Ok(1763596800));
        assert_eq!(parse_time("2024-02-29"), Ok(1709164800));
        for bad in [
            "",
            "2025-13-01",
            "2025-02-30",
            "2023-02-29",
            "2025-11-20T25:00:00Z",
            "yesterday",
            "2025-11-20T10:00:00+0200",
            "2025-11-20T10:00:00Q",
            "-5",
            "1969-12-31",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    /// Issue 16/17: 13-digit epochs are milliseconds (CloudWatch), not a
    /// year-57856 window; ages count back from now; a date alone as the
    /// end of a window is the end of that day.
    #[test]
    fn millisecond_epochs_ages_and_end_of_day() {
        assert_eq!(parse_time("1763613900000"), Ok(1763613900));
        assert_eq!(parse_time("1763613900999"), Ok(1763613900));
        assert_eq!(parse_time("0"), Ok(0));
        for ambiguous in ["176361390000", "17636139000000", "1763613900000000"] {
            let e = parse_time(ambiguous).unwrap_err();
            assert!(e.contains("neither epoch seconds"), "{e}");
        }
        let now = 1_763_632_800;
        assert_eq!(parse_time_at("1h", now, false), Ok(now - 3600));
        assert_eq!(parse_time_at("30m", now, false), Ok(now - 1800));
        assert_eq!(parse_time_at("7d", now, false), Ok(now - 7 * 86400));
        assert_eq!(parse_time_at("2w", now, true), Ok(now - 14 * 86400));
        assert_eq!(parse_time_at("45s", now, false), Ok(now - 45));
        assert!(parse_time_at("100000d", now, false).is_err());
        assert!(parse_time_at("1y", now, false).is_err());
        assert!(parse_time_at("h", now, false).is_err());
        assert_eq!(parse_until("2025-11-20"), Ok(1763596800 + 86399));
        assert_eq!(parse_until("2025-11-20T00:00:00Z"), Ok(1763596800));
        assert_eq!(parse_until("1763596800"), Ok(1763596800));
        assert_eq!(parse_time("2025-11-20"), Ok(1763596800));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Ok(300));
        assert_eq!(parse_duration("1h"), Ok(3600));
        assert_eq!(parse_duration("1d"), Ok(86400));
        assert_eq!(parse_duration("45s"), Ok(45));
        assert_eq!(parse_duration("90"), Ok(90));
        for bad in ["0m", "m", "5x", "-5m", "1.5h", "", "5 m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("443"), Ok((443, 443)));
        assert_eq!(parse_port_range("8000-8100"), Ok((8000, 8100)));
        assert_eq!(parse_port_range("0-65535"), Ok((0, 65535)));
        for bad in ["8100-8000", "65536", "http", "1-", "-5", ""] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn address_ranges() {
        let v4 = |s: &str| Ip::from(s.parse::<IpAddr>().unwrap()).0;
        assert_eq!(
            parse_addr_range("10.0.1.10"),
            Ok((v4("10.0.1.10"), v4("10.0.1.10")))
        );
        assert_eq!(
            parse_addr_range("10.0.0.0/16"),
            Ok((v4("10.0.0.0"), v4("10.0.255.255")))
        );
        assert_eq!(
            parse_addr_range("10.0.1.7/24"),
            Ok((v4("10.0.1.0"), v4("10.0.1.255")))
        );
        assert_eq!(
            parse_addr_range("0.0.0.0/0"),
            Ok((v4("0.0.0.0"), v4("255.255.255.255")))
        );
        let (lo, hi) = parse_addr_range("2600:1f18::/32").unwrap();
        assert_eq!(lo, 0x2600_1f18u128 << 96);
        assert_eq!(hi, (0x2600_1f18u128 << 96) | ((1u128 << 96) - 1));
        for bad in ["10.0.0.0/33", "10.0.0", "host", ""] {
            assert!(parse_addr_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_and_actions() {
        assert_eq!(parse_protocol("tcp"), Ok(6));
        assert_eq!(parse_protocol("UDP"), Ok(17));
        assert_eq!(parse_protocol("icmpv6"), Ok(58));
        assert_eq!(parse_protocol("icmp"), Ok(1));
        assert_eq!(parse_protocol("47"), Ok(47));
        assert!(parse_protocol("256").is_err());
        assert!(parse_protocol("tcpp").is_err());
        assert_eq!(parse_action("reject"), Ok(Action::Reject));
        assert_eq!(parse_action("Accept"), Ok(Action::Accept));
        assert!(parse_action("DROP").is_err());
    }
}
