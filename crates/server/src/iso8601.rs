//! ISO-8601 timestamps, as `mirror.start.offset.spec` may name the time a new mirror starts
//! reading its source from (checked when the config is set, used when a mirror is created).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Milliseconds since the epoch of an ISO-8601 timestamp such as `2024-01-31T12:00:00Z` or
/// `2024-01-31T12:00:00.250Z` (offsets `+hh:mm` accepted; without one, UTC).
pub fn parse_iso8601_ms(s: &str) -> Option<i64> {
    let instant = s.parse::<Timestamp>().ok().or_else(|| {
        s.parse::<DateTime>()
            .ok()?
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })?;
    Some(instant.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601() {
        assert_eq!(parse_iso8601_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601_ms("2024-01-31T12:00:00.250Z"),
            Some(1_706_702_400_250)
        );
        assert_eq!(
            parse_iso8601_ms("2024-01-31T13:00:00+01:00"),
            Some(1_706_702_400_000)
        );
        assert_eq!(parse_iso8601_ms("2024-13-01T00:00:00Z"), None);
    }
}
