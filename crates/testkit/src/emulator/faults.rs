//! Fault injection: which faults an emulator injects, how often, and the seeded dice.

use std::sync::Mutex;
use std::time::Duration;

use idbridge_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After`.
    TooManyRequests,
    /// 500 Internal Server Error.
    InternalError,
    /// 503 Service Unavailable with `Retry-After`.
    Unavailable,
    /// The connection is dropped without any response.
    Reset,
    /// The response comes after an extra delay.
    Slow,
    /// A 200 response whose JSON body is cut short.
    Garbage,
}

impl Fault {
    /// The name used in a fault spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::TooManyRequests => "429",
            Fault::InternalError => "500",
            Fault::Unavailable => "503",
            Fault::Reset => "reset",
            Fault::Slow => "slow",
            Fault::Garbage => "garbage",
        }
    }

    const ALL: [Fault; 6] = [
        Fault::TooManyRequests,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Slow,
        Fault::Garbage,
    ];
}

/// Which faults to inject at which rates, and their parameters.
///
/// Written as `429=0.05,503=0.02,reset=0.01,slow=0.01,garbage=0.01`; further keys:
/// `500=RATE`, `retry_after=SECONDS` (default 1), `slow_ms=MILLIS` (default 2000),
/// `seed=N` (default 0, for reproducible runs). Rates are probabilities per request and
/// must add up to at most 1. Faults are decided before the request reaches the emulated
/// API, so a faulted request never changes state.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    rates: Vec<(Fault, f64)>,
    /// The `Retry-After` sent with 429 and 503. Default 1 s.
    pub retry_after: Duration,
    /// The extra delay of a slow response. Default 2 s.
    pub slow_delay: Duration,
    /// The dice's seed. Default 0.
    pub seed: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            rates: Vec::new(),
            retry_after: Duration::from_secs(1),
            slow_delay: Duration::from_millis(2000),
            seed: 0,
        }
    }
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        FaultSpec::default()
    }

    /// Whether any fault has a non-zero rate.
    pub fn is_active(&self) -> bool {
        self.rates.iter().any(|(_, r)| *r > 0.0)
    }

    /// Sets the rate of one fault (0 removes it).
    #[must_use]
    pub fn with_rate(mut self, fault: Fault, rate: f64) -> Self {
        self.rates.retain(|(f, _)| *f != fault);
        if rate > 0.0 {
            self.rates.push((fault, rate));
        }
        self
    }

    /// The rate of one fault.
    pub fn rate(&self, fault: Fault) -> f64 {
        self.rates
            .iter()
            .find(|(f, _)| *f == fault)
            .map_or(0.0, |(_, r)| *r)
    }

    /// Parses a spec such as `429=0.05,503=0.02,reset=0.01`. An empty string means none.
    ///
    /// # Errors
    /// [`idbridge_core::ErrorKind::InvalidInput`] naming the item that is not `key=value`, an
    /// unknown key, a rate outside 0..=1, or rates adding up to more than 1.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut out = FaultSpec::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(Error::invalid_input(format!(
                    "fault spec item `{item}` is not key=value"
                )));
            };
            let (key, value) = (key.trim(), value.trim());
            let number = |what: &str| -> Result<f64> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(|| {
                        Error::invalid_input(format!(
                            "fault spec `{key}`: `{value}` is not a {what}"
                        ))
                    })
            };
            match key {
                "retry_after" => {
                    out.retry_after = Duration::from_secs_f64(number("number of seconds")?)
                }
                "slow_ms" => {
                    out.slow_delay = Duration::from_millis(number("number of milliseconds")? as u64)
                }
                "seed" => {
                    out.seed = value.parse().map_err(|_| {
                        Error::invalid_input(format!(
                            "fault spec `seed`: `{value}` is not a whole number"
                        ))
                    })?
                }
                _ => {
                    let fault = Fault::ALL.into_iter().find(|f| f.as_str() == key).ok_or_else(|| {
                        Error::invalid_input(format!(
                            "fault spec: unknown key `{key}`; known: 429, 500, 503, reset, slow, garbage, retry_after, slow_ms, seed"
                        ))
                    })?;
                    let rate = number("rate between 0 and 1")?;
                    if rate > 1.0 {
                        return Err(Error::invalid_input(format!(
                            "fault spec `{key}`: rate {rate} is above 1"
                        )));
                    }
                    out = out.with_rate(fault, rate);
                }
            }
        }
        let total: f64 = out.rates.iter().map(|(_, r)| r).sum();
        if total > 1.0 + 1e-9 {
            return Err(Error::invalid_input(format!(
                "fault spec: the rates add up to {total}, more than 1"
            )));
        }
        Ok(out)
    }
}

/// The seeded dice that decide, per request, whether and which fault to inject.
#[derive(Debug)]
pub(crate) struct FaultDice {
    spec: FaultSpec,
    rng: Mutex<StdRng>,
}

impl FaultDice {
    pub(crate) fn new(spec: FaultSpec) -> Self {
        let rng = Mutex::new(StdRng::seed_from_u64(spec.seed));
        FaultDice { spec, rng }
    }

    pub(crate) fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    pub(crate) fn roll(&self) -> Option<Fault> {
        if !self.spec.is_active() {
            return None;
        }
        let x: f64 = match self.rng.lock() {
            Ok(mut rng) => rng.random(),
            // A poisoned lock only means another request panicked mid-roll; the RNG state
            // is still a valid RNG state.
            Err(poisoned) => poisoned.into_inner().random(),
        };
        let mut acc = 0.0;
        for (fault, rate) in &self.spec.rates {
            acc += rate;
            if x < acc {
                return Some(*fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let s =
            FaultSpec::parse("429=0.05,503=0.02,reset=0.01,slow=0.01,garbage=0.01,retry_after=0")
                .expect("valid");
        assert_eq!(s.rate(Fault::TooManyRequests), 0.05);
        assert_eq!(s.rate(Fault::Reset), 0.01);
        assert_eq!(s.retry_after, Duration::ZERO);
        assert!(s.is_active());
        assert!(!FaultSpec::parse("").expect("empty").is_active());
    }

    #[test]
    fn rejects_bad_specs_naming_the_item() {
        for (spec, needle) in [
            ("429", "429"),
            ("teapot=0.1", "teapot"),
            ("429=2", "above 1"),
            ("429=0.6,503=0.6", "add up"),
            ("503=x", "`x`"),
        ] {
            let err = FaultSpec::parse(spec).expect_err(spec);
            assert!(err.message().contains(needle), "{spec}: {}", err.message());
        }
    }

    #[test]
    fn dice_follow_the_rates_and_the_seed() {
        let spec = FaultSpec::parse("500=0.25,seed=7").expect("valid");
        let a = FaultDice::new(spec.clone());
        let b = FaultDice::new(spec);
        let rolls_a: Vec<_> = (0..4000).map(|_| a.roll()).collect();
        let rolls_b: Vec<_> = (0..4000).map(|_| b.roll()).collect();
        assert_eq!(rolls_a, rolls_b, "same seed, same faults");
        let hits = rolls_a.iter().filter(|f| f.is_some()).count();
        assert!((800..1200).contains(&hits), "about a quarter: {hits}");
    }
}
