//! Growth between sizes, the same way in every benchmark: a figure's ratio scaled to one
//! x10 step of the size, flagged when it passes x12 (linear work grows x10 per x10; a
//! little more is cache and allocator effects, much more is a super-linear stage).

/// The ratio above which a figure's growth per x10 is flagged.
pub const FLAG_ABOVE: f64 = 12.0;

/// How much `value` grew per x10 of `size` between two measurements:
/// `(b_value / a_value) ^ (1 / log10(b_size / a_size))`. Sizes 10k and 100k give the plain
/// ratio; 10k and 1M its square root. `None` when a size or value is not positive or the
/// sizes are equal (no growth to speak of).
pub fn per_x10(a_size: usize, a_value: f64, b_size: usize, b_value: f64) -> Option<f64> {
    if a_size == 0 || b_size == 0 || a_size == b_size {
        return None;
    }
    if !(a_value > 0.0 && b_value > 0.0 && a_value.is_finite() && b_value.is_finite()) {
        return None;
    }
    let decades = (b_size as f64 / a_size as f64).log10();
    Some((b_value / a_value).powf(1.0 / decades))
}

/// `x8.71` for a ratio, with ` <- above x12` when it passes [`FLAG_ABOVE`]; `n/a` when
/// there is none.
pub fn show(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r > FLAG_ABOVE => format!("x{r:.2} <- above x{FLAG_ABOVE:.0}"),
        Some(r) => format!("x{r:.2}"),
        None => "n/a".to_string(),
    }
}

/// One line per pair of consecutive sizes: `label` then each named figure's growth per
/// x10. `rows` holds, per size, the figures in the order of `names` (NaN where missing).
pub fn print_table(label: &str, names: &[&str], rows: &[(usize, Vec<f64>)]) {
    for w in rows.windows(2) {
        let ((a, av), (b, bv)) = (&w[0], &w[1]);
        let parts: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let r = per_x10(
                    *a,
                    av.get(i).copied().unwrap_or(f64::NAN),
                    *b,
                    bv.get(i).copied().unwrap_or(f64::NAN),
                );
                format!("{name} {}", show(r))
            })
            .collect();
        println!("growth per x10 {label} {a} -> {b}: {}", parts.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_decade_is_the_plain_ratio() {
        let r = per_x10(10_000, 2.0, 100_000, 17.0).expect("ratio");
        assert!((r - 8.5).abs() < 1e-9, "{r}");
    }

    #[test]
    fn two_decades_are_scaled_to_one() {
        // x100 over two decades is x10 per decade.
        let r = per_x10(10_000, 1.0, 1_000_000, 100.0).expect("ratio");
        assert!((r - 10.0).abs() < 1e-9, "{r}");
        // x2 sizes with x2 value is x10 per decade (linear).
        let r = per_x10(1_000, 3.0, 2_000, 6.0).expect("ratio");
        assert!((r - 10.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn missing_or_degenerate_figures_give_none() {
        assert_eq!(per_x10(10, 0.0, 100, 5.0), None);
        assert_eq!(per_x10(10, 1.0, 100, f64::NAN), None);
        assert_eq!(per_x10(10, 1.0, 10, 5.0), None);
        assert_eq!(per_x10(0, 1.0, 10, 5.0), None);
    }

    #[test]
    fn growth_above_twelve_is_flagged() {
        assert_eq!(show(Some(9.5)), "x9.50");
        assert_eq!(show(Some(12.0)), "x12.00");
        assert!(show(Some(13.1)).contains("above x12"));
        assert_eq!(show(None), "n/a");
    }
}
