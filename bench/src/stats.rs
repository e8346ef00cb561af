//! Spread of a figure over repeated runs: median, min, max, standard deviation.

use serde::Serialize;

/// A figure's spread over runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
    /// Population standard deviation.
    pub stddev: f64,
    /// How many values.
    pub n: usize,
}

impl Spread {
    /// The spread of `values`; `None` when there are none (NaNs are dropped).
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
            stddev: var.sqrt(),
            n,
        })
    }

    /// `median (min–max)` with `digits` decimals, the whole figure scaled by `scale`.
    pub fn show(&self, scale: f64, digits: usize) -> String {
        if self.n == 1 || self.min == self.max {
            return format!("{:.*}", digits, self.median * scale);
        }
        format!(
            "{:.*} ({:.*}–{:.*})",
            digits,
            self.median * scale,
            digits,
            self.min * scale,
            digits,
            self.max * scale
        )
    }
}

/// `median (min–max)` of `values`, or `–` when there are none.
pub fn show(values: &[f64], scale: f64, digits: usize) -> String {
    Spread::of(values).map_or_else(|| "–".to_owned(), |s| s.show(scale, digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(&[3.0], 3.0, 3.0, 3.0)]
    #[case(&[5.0, 1.0, 3.0], 3.0, 1.0, 5.0)]
    #[case(&[4.0, 1.0, 3.0, 2.0], 2.5, 1.0, 4.0)]
    #[case(&[2.0, f64::NAN, 4.0], 3.0, 2.0, 4.0)]
    fn median_min_max(#[case] values: &[f64], #[case] median: f64, #[case] min: f64, #[case] max: f64) {
        let s = Spread::of(values).unwrap();
        assert_eq!((s.median, s.min, s.max), (median, min, max));
    }

    #[test]
    fn stddev_is_the_population_one() {
        let s = Spread::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert!((s.stddev - 2.0).abs() < 1e-12);
    }

    #[test]
    fn nothing_has_no_spread() {
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(show(&[f64::NAN], 1.0, 1), "–");
    }

    #[rstest]
    #[case(&[1500.0], "1.5")]
    #[case(&[1000.0, 2000.0, 1500.0], "1.5 (1.0–2.0)")]
    fn shown_with_its_range(#[case] values: &[f64], #[case] text: &str) {
        assert_eq!(show(values, 0.001, 1), text);
    }
}
