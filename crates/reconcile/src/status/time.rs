//! Time for conditions and leases: RFC 3339 timestamps, written and read (conditions need
//! seconds in UTC, leases need to compare two instants), through `jiff`.

use jiff::Timestamp;

/// Now, in RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    rfc3339(Timestamp::now().as_second())
}

/// Seconds since the epoch in RFC 3339 (UTC).
pub fn rfc3339(secs: i64) -> String {
    Timestamp::from_second(secs)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Parses an RFC 3339 time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) into microseconds since the
/// epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    s.parse::<Timestamp>().ok().map(|t| t.as_microsecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
