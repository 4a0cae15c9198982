//! Metric values for a person reading a terminal: integers without
//! decimals, other numbers to at most three places (sensor readings carry
//! f32 artefacts such as 83.4432373046875), booleans and enum texts as
//! they are. Display only: never used for data that leaves the simulator.

use retrofit_protocols::Value;

/// `value` as short text.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
        Value::Number(x) => {
            let fixed = format!("{x:.3}");
            let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
            match trimmed {
                "-0" => "0".to_string(),
                t => t.to_string(),
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::Text(t) => t.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_where_they_can_be() {
        let text = |x: f64| value_text(&Value::Number(x));
        assert_eq!(text(83.4432373046875), "83.443");
        assert_eq!(text(1.25), "1.25");
        assert_eq!(text(3.0), "3");
        assert_eq!(text(-97.0), "-97");
        assert_eq!(text(0.0004), "0");
        assert_eq!(text(-0.0004), "0");
        assert_eq!(text(2.0005), "2.001");
        assert_eq!(value_text(&Value::Bool(true)), "true");
        assert_eq!(value_text(&Value::text("open").unwrap()), "open");
    }
}
