//! Physical constants and time conventions.
//!
//! Everything is SI. Game time is TDB seconds since J2000 (JD 2451545.0).

/// Standard gravity, used to turn specific impulse into exhaust velocity (m/s²).
pub const STANDARD_GRAVITY: f64 = 9.806_65;

/// Speed of light in vacuum (m/s), for the post-Newtonian correction.
pub const SPEED_OF_LIGHT: f64 = 299_792_458.0;

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
