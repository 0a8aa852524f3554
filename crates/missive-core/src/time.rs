//! Time formatting as Misskey emits it: ISO 8601 with milliseconds and `Z`.

/// Formats Unix epoch milliseconds as `2025-09-08T12:00:00.000Z` (what JavaScript's
/// `Date.toISOString()` prints for years 0 to 9999).
pub fn iso8601_ms(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (h, rem) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let (s, ms) = (rem / 1000, rem % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parses a duration setting: a whole number and a unit (`ms`, `s`, `m`, `h`, `d`),
/// such as `24h` or `500ms`, into milliseconds.
pub fn parse_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let expected =
        || format!("{s:?} is not a duration: expected a number and a unit such as 30s, 10m or 24h");
    let unit_at = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(expected)?;
    let (count, unit) = s.split_at(unit_at);
    let count: u64 = count.parse().map_err(|_| expected())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(expected()),
    };
    count.checked_mul(unit_ms).ok_or_else(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_757_332_800_000, "2025-09-08T12:00:00.000Z"),
            (946_684_800_001, "2000-01-01T00:00:00.001Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_798_761_599_999, "2026-12-31T23:59:59.999Z"),
        ];
        for (ms, want) in cases {
            assert_eq!(iso8601_ms(ms), want);
        }
    }

    #[test]
    fn durations_parse_with_their_unit() {
        let cases = [
            ("24h", Ok(86_400_000)),
            ("500ms", Ok(500)),
            ("90s", Ok(90_000)),
            ("10m", Ok(600_000)),
            ("2d", Ok(172_800_000)),
            ("0s", Ok(0)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration_ms(text), expected, "{text}");
        }
        for bad in ["", "24", "h", "1.5h", "-1h", "3 weeks"] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }
}
