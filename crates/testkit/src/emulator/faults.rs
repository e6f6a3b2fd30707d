//! Fault injection: which faults an emulator injects, how often, and the seeded dice.

use std::sync::Mutex;
use std::time::Duration;

use idbridge_core::{Error, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

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
    /// The request is served, then its answer is replaced by an HTML error page, as a
    /// reverse proxy sends: `502 Bad Gateway`, or a `200` page (a proxy's maintenance or
    /// sign-in page), chosen by the dice.
    Html,
    /// The request is served, then one value of its JSON answer, chosen by the dice,
    /// changes type: a string becomes a number, a number a string, a boolean a string,
    /// null an object, an array an object, an object an array.
    WrongType,
    /// The request is served, then one field of its JSON answer, chosen by the dice, is
    /// removed.
    Missing,
    /// The request is served, then its answer is followed by whitespace until the body is
    /// larger than [`FaultSpec::huge_bytes`], streamed without a `Content-Length`.
    Huge,
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
            Fault::Html => "html",
            Fault::WrongType => "wrongtype",
            Fault::Missing => "missing",
            Fault::Huge => "huge",
        }
    }

    /// The fault named `name` in a fault spec (`429`, `reset`, `wrongtype`, ...).
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the request reaches the emulated API before the fault is applied to its
    /// answer (`html`, `wrongtype`, `missing`, `huge`), so that its effect on the state
    /// happens although the client cannot read the answer. The other faults answer in
    /// place of the API, which then never sees the request.
    pub fn reaches_handler(self) -> bool {
        matches!(
            self,
            Fault::Html | Fault::WrongType | Fault::Missing | Fault::Huge
        )
    }

    /// Every fault, in spec order.
    pub const ALL: [Fault; 10] = [
        Fault::TooManyRequests,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Slow,
        Fault::Garbage,
        Fault::Html,
        Fault::WrongType,
        Fault::Missing,
        Fault::Huge,
    ];
}

/// Which faults to inject at which rates, and their parameters.
///
/// Written as `429=0.05,503=0.02,reset=0.01,slow=0.01,garbage=0.01`; further keys:
/// `500=RATE`, `html=RATE`, `wrongtype=RATE`, `missing=RATE`, `huge=RATE`,
/// `retry_after=SECONDS` (default 1), `slow_ms=MILLIS` (default 2000), `huge_mb=MIB`
/// (default 65), `seed=N` (default 0, for reproducible runs), `fields=KEY|KEY...`
/// (default none: see below). Rates are probabilities per
/// request and must add up to at most 1; one roll of the seeded dice per request decides
/// which fault, if any, it gets.
///
/// Two families:
/// - decided **instead of** the emulated API, which never sees the request, so the state
///   does not change: `429` (with `Retry-After`), `500`, `503` (with `Retry-After`),
///   `reset` (the connection is dropped with no answer), `slow` (served after
///   `slow_ms`), `garbage` (a `200` whose JSON is cut short);
/// - applied **to the API's real answer**, after the request changed the state, as when
///   a server does the work and the answer is mangled on the way back: `html` (a `502` or
///   `200` HTML error page in place of the answer), `wrongtype` (one JSON value changes
///   type), `missing` (one JSON field is removed), `huge` (the answer padded past
///   `huge_mb` MiB, streamed without `Content-Length`, never held in memory).
///   `wrongtype` and `missing` leave an answer with nothing to change (no body, not JSON,
///   a bare scalar, an empty object) as it is; `huge` cannot pad a `204`, which has no
///   body. Which value or field is changed is decided by the same dice, so a seeded run
///   mangles the same way each time as long as the requests arrive in the same order.
///
/// With `fields` (object keys separated by `|`, such as `fields=enabled|username`),
/// `wrongtype` and `missing` aim instead: they change the type of, or remove, **every**
/// field of the answer with one of those keys, at any depth, and nothing else; an answer
/// without such a field passes unchanged. This reproduces a server that garbles one field
/// of every record.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    rates: Vec<(Fault, f64)>,
    /// The `Retry-After` sent with 429 and 503. Default 1 s.
    pub retry_after: Duration,
    /// The extra delay of a slow response. Default 2 s.
    pub slow_delay: Duration,
    /// The size a `huge` answer grows past. Default 65 MiB, above the 64 MiB an idbridge
    /// HTTP client reads by default.
    pub huge_bytes: u64,
    /// The dice's seed. Default 0.
    pub seed: u64,
    /// The object keys `wrongtype` and `missing` aim at; empty (the default) lets the
    /// dice pick one value or field per answer.
    pub fields: Vec<String>,
}

/// The default size of a `huge` answer: one MiB more than the client reads.
pub const DEFAULT_HUGE_BYTES: u64 = 65 * 1024 * 1024;

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            rates: Vec::new(),
            retry_after: Duration::from_secs(1),
            slow_delay: Duration::from_millis(2000),
            huge_bytes: DEFAULT_HUGE_BYTES,
            seed: 0,
            fields: Vec::new(),
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
                "huge_mb" => {
                    let mib = number("number of MiB")?;
                    out.huge_bytes = (mib * 1024.0 * 1024.0) as u64;
                }
                "fields" => {
                    out.fields = value
                        .split('|')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(str::to_string)
                        .collect();
                    if out.fields.is_empty() {
                        return Err(Error::invalid_input(
                            "fault spec `fields`: name at least one key (`fields=enabled|username`)",
                        ));
                    }
                }
                "seed" => {
                    out.seed = value.parse().map_err(|_| {
                        Error::invalid_input(format!(
                            "fault spec `seed`: `{value}` is not a whole number"
                        ))
                    })?
                }
                _ => {
                    let fault = Fault::from_name(key).ok_or_else(|| {
                        Error::invalid_input(format!(
                            "fault spec: unknown key `{key}`; known: 429, 500, 503, reset, slow, garbage, html, wrongtype, missing, huge, retry_after, slow_ms, huge_mb, seed, fields"
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

    fn draw(&self) -> f64 {
        match self.rng.lock() {
            Ok(mut rng) => rng.random(),
            // A poisoned lock only means another request panicked mid-roll; the RNG state
            // is still a valid RNG state.
            Err(poisoned) => poisoned.into_inner().random(),
        }
    }

    /// A number in `0..n` (0 when `n` is 0), from the same seeded dice: which value or
    /// field a mangling fault changes.
    pub(crate) fn pick(&self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((self.draw() * n as f64) as usize).min(n - 1)
    }

    pub(crate) fn roll(&self) -> Option<Fault> {
        if !self.spec.is_active() {
            return None;
        }
        let x = self.draw();
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

/// Counts the values below the root of `value`, in pre-order.
fn count_values(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(|v| 1 + count_values(v)).sum(),
        Value::Object(map) => map.values().map(|v| 1 + count_values(v)).sum(),
        _ => 0,
    }
}

/// The `index`-th value below the root of `value`, in pre-order.
fn nth_value(value: &mut Value, mut index: usize) -> Option<&mut Value> {
    let children: Box<dyn Iterator<Item = &mut Value>> = match value {
        Value::Array(items) => Box::new(items.iter_mut()),
        Value::Object(map) => Box::new(map.values_mut()),
        _ => return None,
    };
    for child in children {
        if index == 0 {
            return Some(child);
        }
        index -= 1;
        let below = count_values(child);
        if index < below {
            return nth_value(child, index);
        }
        index -= below;
    }
    None
}

/// The same data under another JSON type: a string becomes its length, a number its
/// text, a boolean its text, null an empty object, an array an object keyed by position,
/// an object the array of its values.
fn retyped(value: Value) -> Value {
    match value {
        Value::String(s) => Value::from(s.chars().count()),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Null => Value::Object(Map::new()),
        Value::Array(items) => Value::Object(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        Value::Object(map) => Value::Array(map.into_iter().map(|(_, v)| v).collect()),
    }
}

/// The `wrongtype` fault: changes the type of the value below the root that `pick` (given
/// the number of candidates) chooses. Returns whether anything changed (a bare scalar or
/// an empty container has no value to change).
pub(crate) fn change_type(doc: &mut Value, pick: impl FnOnce(usize) -> usize) -> bool {
    let n = count_values(doc);
    if n == 0 {
        return false;
    }
    match nth_value(doc, pick(n).min(n - 1)) {
        Some(target) => {
            *target = retyped(target.take());
            true
        }
        None => false,
    }
}

/// Counts the object fields anywhere in `value`, the root's included.
fn count_fields(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.iter().map(count_fields).sum(),
        Value::Object(map) => map.len() + map.values().map(count_fields).sum::<usize>(),
        _ => 0,
    }
}

/// Removes the `index`-th object field of `value` in pre-order (a field comes before the
/// fields inside its value).
fn remove_nth_field(value: &mut Value, mut index: usize) -> bool {
    match value {
        Value::Array(items) => {
            for item in items {
                let here = count_fields(item);
                if index < here {
                    return remove_nth_field(item, index);
                }
                index -= here;
            }
            false
        }
        Value::Object(map) => {
            let mut found = None;
            for (key, child) in map.iter_mut() {
                if index == 0 {
                    found = Some(key.clone());
                    break;
                }
                index -= 1;
                let below = count_fields(child);
                if index < below {
                    return remove_nth_field(child, index);
                }
                index -= below;
            }
            match found {
                Some(key) => map.remove(&key).is_some(),
                None => false,
            }
        }
        _ => false,
    }
}

/// The `missing` fault: removes the object field that `pick` (given the number of fields
/// in the whole document) chooses. Returns whether anything changed.
pub(crate) fn remove_field(doc: &mut Value, pick: impl FnOnce(usize) -> usize) -> bool {
    let n = count_fields(doc);
    if n == 0 {
        return false;
    }
    remove_nth_field(doc, pick(n).min(n - 1))
}

/// The aimed `wrongtype` fault: changes the type of every value under a key in `keys`, at
/// any depth. Returns whether anything changed.
pub(crate) fn change_type_of_keys(doc: &mut Value, keys: &[String]) -> bool {
    match doc {
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, v| change_type_of_keys(v, keys) | acc),
        Value::Object(map) => {
            let mut changed = false;
            for (key, child) in map.iter_mut() {
                if keys.iter().any(|k| k == key) {
                    *child = retyped(child.take());
                    changed = true;
                } else {
                    changed |= change_type_of_keys(child, keys);
                }
            }
            changed
        }
        _ => false,
    }
}

/// The aimed `missing` fault: removes every field under a key in `keys`, at any depth.
/// Returns whether anything changed.
pub(crate) fn remove_keys(doc: &mut Value, keys: &[String]) -> bool {
    match doc {
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |acc, v| remove_keys(v, keys) | acc),
        Value::Object(map) => {
            let before = map.len();
            map.retain(|key, _| !keys.iter().any(|k| k == key));
            let mut changed = map.len() != before;
            for child in map.values_mut() {
                changed |= remove_keys(child, keys);
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn parses_the_mangling_faults_and_the_huge_size() {
        let s = FaultSpec::parse("html=0.1,wrongtype=0.2,missing=0.3,huge=0.05,huge_mb=2")
            .expect("valid");
        assert_eq!(s.rate(Fault::Html), 0.1);
        assert_eq!(s.rate(Fault::WrongType), 0.2);
        assert_eq!(s.rate(Fault::Missing), 0.3);
        assert_eq!(s.rate(Fault::Huge), 0.05);
        assert_eq!(s.huge_bytes, 2 * 1024 * 1024);
        assert_eq!(FaultSpec::none().huge_bytes, DEFAULT_HUGE_BYTES);
        for f in Fault::ALL {
            assert_eq!(Fault::from_name(f.as_str()), Some(f));
        }
        assert!(Fault::Html.reaches_handler() && Fault::Huge.reaches_handler());
        assert!(!Fault::Garbage.reaches_handler() && !Fault::Reset.reaches_handler());
        let err = FaultSpec::parse("huge_mb=lots").expect_err("not a number");
        assert!(err.message().contains("huge_mb"), "{}", err.message());
    }

    #[test]
    fn pick_is_seeded_and_in_range() {
        let a = FaultDice::new(FaultSpec::parse("seed=3").expect("valid"));
        let b = FaultDice::new(FaultSpec::parse("seed=3").expect("valid"));
        let picks_a: Vec<usize> = (0..500).map(|_| a.pick(7)).collect();
        let picks_b: Vec<usize> = (0..500).map(|_| b.pick(7)).collect();
        assert_eq!(picks_a, picks_b);
        assert!(picks_a.iter().all(|p| *p < 7));
        assert!(
            (0..7).all(|v| picks_a.contains(&v)),
            "every index is reachable"
        );
        assert_eq!(a.pick(0), 0);
    }

    #[test]
    fn change_type_retypes_exactly_the_chosen_value() {
        let doc = json!({"list": [{"id": "ab", "n": 3, "ok": true, "x": null}], "tags": ["t"]});
        // Pre-order below the root (keys in sorted order): list, list[0], id, n, ok, x, tags, tags[0].
        let expected = [
            json!({"list": {"0": {"id": "ab", "n": 3, "ok": true, "x": null}}, "tags": ["t"]}),
            json!({"list": [["ab", 3, true, null]], "tags": ["t"]}),
            json!({"list": [{"id": 2, "n": 3, "ok": true, "x": null}], "tags": ["t"]}),
            json!({"list": [{"id": "ab", "n": "3", "ok": true, "x": null}], "tags": ["t"]}),
            json!({"list": [{"id": "ab", "n": 3, "ok": "true", "x": null}], "tags": ["t"]}),
            json!({"list": [{"id": "ab", "n": 3, "ok": true, "x": {}}], "tags": ["t"]}),
            json!({"list": [{"id": "ab", "n": 3, "ok": true, "x": null}], "tags": {"0": "t"}}),
            json!({"list": [{"id": "ab", "n": 3, "ok": true, "x": null}], "tags": [1]}),
        ];
        for (i, want) in expected.iter().enumerate() {
            let mut d = doc.clone();
            assert!(change_type(&mut d, |n| {
                assert_eq!(n, expected.len());
                i
            }));
            assert_eq!(&d, want, "value {i}");
        }
        for scalar in [json!("s"), json!(1), json!({}), json!([])] {
            let mut d = scalar.clone();
            assert!(!change_type(&mut d, |_| 0));
            assert_eq!(d, scalar);
        }
    }

    #[test]
    fn aimed_faults_change_every_named_field_and_nothing_else() {
        let s = FaultSpec::parse("missing=1,fields=enabled|username").expect("valid");
        assert_eq!(s.fields, ["enabled", "username"]);
        assert!(FaultSpec::parse("fields=|").is_err());
        let keys = s.fields.clone();
        let doc = json!([
            {"id": "a", "username": "ada", "enabled": false, "inner": {"enabled": true}},
            {"id": "b", "name": "x"}
        ]);
        let mut d = doc.clone();
        assert!(remove_keys(&mut d, &keys));
        assert_eq!(
            d,
            json!([{"id": "a", "inner": {}}, {"id": "b", "name": "x"}])
        );
        let mut d = doc.clone();
        assert!(change_type_of_keys(&mut d, &keys));
        assert_eq!(
            d,
            json!([
                {"id": "a", "username": 3, "enabled": "false", "inner": {"enabled": "true"}},
                {"id": "b", "name": "x"}
            ])
        );
        let mut none = json!({"id": "c"});
        assert!(!remove_keys(&mut none, &keys) && !change_type_of_keys(&mut none, &keys));
    }

    #[test]
    fn remove_field_removes_exactly_the_chosen_field() {
        let doc = json!([{"id": "a", "inner": {"k": 1}}, {"id": "b"}]);
        // Pre-order: [0].id, [0].inner, [0].inner.k, [1].id.
        let expected = [
            json!([{"inner": {"k": 1}}, {"id": "b"}]),
            json!([{"id": "a"}, {"id": "b"}]),
            json!([{"id": "a", "inner": {}}, {"id": "b"}]),
            json!([{"id": "a", "inner": {"k": 1}}, {}]),
        ];
        for (i, want) in expected.iter().enumerate() {
            let mut d = doc.clone();
            assert!(remove_field(&mut d, |n| {
                assert_eq!(n, expected.len());
                i
            }));
            assert_eq!(&d, want, "field {i}");
        }
        for nothing in [json!([1, 2]), json!({}), json!("s")] {
            let mut d = nothing.clone();
            assert!(!remove_field(&mut d, |_| 0));
            assert_eq!(d, nothing);
        }
    }
}
