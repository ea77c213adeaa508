//! Physical constants and time conventions.
//!
//! Everything is SI. Game time is TDB seconds since J2000 (JD 2451545.0).

/// Standard gravity, used to turn specific impulse into exhaust velocity (m/s²).
pub const STANDARD_GRAVITY: f64 = 9.806_65;

/// Speed of light in vacuum (m/s), for the post-Newtonian correction.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;

/// The astronomical unit (m, IAU 2012).
pub const ASTRONOMICAL_UNIT: f64 = 1.495_978_707e11;

/// Seconds in one Julian day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;

/// Days in one Julian year.
pub const DAYS_PER_JULIAN_YEAR: f64 = 365.25;

/// Julian date (TDB) of the J2000 epoch, the zero of game time.
pub const J2000_JULIAN_DATE: f64 = 2_451_545.0;

/// Game time (s since J2000) for a number of days since J2000.
pub fn days_to_game_time(days: f64) -> f64 {
    days * SECONDS_PER_DAY
}

/// A calendar date and time on the TDB time scale (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarTime {
    /// Year.
    pub year: i64,
    /// Month 1–12.
    pub month: u32,
    /// Day of month 1–31.
    pub day: u32,
    /// Hour 0–23.
    pub hour: u32,
    /// Minute 0–59.
    pub minute: u32,
    /// Second 0–59.
    pub second: u32,
}

impl CalendarTime {
    /// The calendar time of game time `t` (TDB seconds since J2000), by the
    /// Fliegel–Van Flandern algorithm on the Julian day number.
    pub fn from_game_time(t: f64) -> Self {
        let julian_date = J2000_JULIAN_DATE + t / SECONDS_PER_DAY;
        let shifted = julian_date + 0.5;
        let day_number = shifted.floor() as i64;
        let seconds_of_day = ((shifted - shifted.floor()) * SECONDS_PER_DAY).floor() as u32;
        let l = day_number + 68_569;
        let n = 4 * l / 146_097;
        let l = l - (146_097 * n + 3) / 4;
        let i = 4_000 * (l + 1) / 1_461_001;
        let l = l - 1_461 * i / 4 + 31;
        let j = 80 * l / 2_447;
        let day = l - 2_447 * j / 80;
        let l = j / 11;
        let month = j + 2 - 12 * l;
        let year = 100 * (n - 49) + i + l;
        Self {
            year,
            month: month as u32,
            day: day as u32,
            hour: seconds_of_day / 3_600,
            minute: seconds_of_day / 60 % 60,
            second: seconds_of_day % 60,
        }
    }
}

impl std::fmt::Display for CalendarTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} TDB",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_of_known_julian_dates() {
        assert_eq!(
            CalendarTime::from_game_time(0.0).to_string(),
            "2000-01-01 12:00:00 TDB"
        );
        // JD 2460000.5 is 2023-02-25 00:00.
        let t = (2_460_000.5 - J2000_JULIAN_DATE) * SECONDS_PER_DAY;
        assert_eq!(
            CalendarTime::from_game_time(t).to_string(),
            "2023-02-25 00:00:00 TDB"
        );
        // JD 2415020.0 is 1899-12-31 12:00.
        let t = (2_415_020.0 - J2000_JULIAN_DATE) * SECONDS_PER_DAY;
        assert_eq!(
            CalendarTime::from_game_time(t).to_string(),
            "1899-12-31 12:00:00 TDB"
        );
    }
}
