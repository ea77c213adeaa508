//! Compensated (Kahan) accumulation.
//!
//! A real-time server adds a displacement of about a kilometre to a position of
//! 10¹¹ m thirty times a second for months; plain f64 addition loses up to half an
//! ulp (≈ 10 µm) each time, which adds up to kilometres. Carrying the rounding error
//! keeps positions and game time exact to the last bit over any run length.

use glam::DVec3;

/// Adds `delta` to `sum`, carrying the rounding error in `carry` (Kahan–Babuška).
#[inline]
pub fn add(sum: &mut f64, carry: &mut f64, delta: f64) {
    let y = delta - *carry;
    let t = *sum + y;
    *carry = (t - *sum) - y;
    *sum = t;
}

/// Vector form of [`add`].
#[inline]
pub fn add_vec(sum: &mut DVec3, carry: &mut DVec3, delta: DVec3) {
    let y = delta - *carry;
    let t = *sum + y;
    *carry = (t - *sum) - y;
    *sum = t;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensated_sum_of_small_steps_is_exact_where_naive_drifts() {
        let step = 1.0 / 30.0;
        let steps = 10_000_000u64;
        let (mut naive, mut sum, mut carry) = (1.0e8, 1.0e8, 0.0);
        for _ in 0..steps {
            naive += step;
            add(&mut sum, &mut carry, step);
        }
        let exact = 1.0e8 + steps as f64 / 30.0;
        assert!(
            (sum - exact).abs() < 1e-7,
            "compensated sum off by {}",
            sum - exact
        );
        assert!(
            (naive - exact).abs() > 1e-3,
            "naive sum should visibly drift, off by {}",
            naive - exact
        );
    }
}
