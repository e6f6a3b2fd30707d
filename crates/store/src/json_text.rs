//! A record's state as JSON text, as a journal row to write holds it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// A record as JSON text, kept as the text it is stored as: a user's record as a parsed
/// [`Value`] takes about three times the memory, and an apply holds the rows of every
/// write in flight (tens of thousands at a time in a first sync).
///
/// Serialized as the JSON it holds; two are equal when their texts are.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonText(Box<RawValue>);

impl JsonText {
    /// `value` as JSON text, or `None` when it cannot be serialized (a map with keys
    /// that are not strings).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Option<JsonText> {
        serde_json::value::to_raw_value(value).ok().map(JsonText)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }

    /// The text parsed back into a [`Value`] (`Value::Null` never results from valid text
    /// other than `null`).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }

    /// As a parameter of a PostgreSQL statement (a `jsonb` column).
    pub(crate) fn sql(&self) -> postgres::types::Json<&RawValue> {
        postgres::types::Json(&self.0)
    }
}

impl PartialEq for JsonText {
    fn eq(&self, other: &JsonText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<&Value> for JsonText {
    fn from(value: &Value) -> JsonText {
        // A `Value` always serializes; its text always parses back.
        JsonText::of(value).unwrap_or_else(|| JsonText(RawValue::NULL.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_serializes_as_the_json_it_holds() {
        let v = serde_json::json!({"id": "u-1", "groups": ["a", "b"], "enabled": true});
        let t = JsonText::from(&v);
        assert_eq!(t.to_value(), v);
        assert_eq!(t.as_str(), v.to_string());
        let wrapped = serde_json::json!({ "after": t });
        assert_eq!(wrapped["after"], v, "embedded as JSON, not as a string");
        let back: JsonText = serde_json::from_value(wrapped["after"].clone()).expect("reads");
        assert_eq!(back, t);
        let mut bad = std::collections::HashMap::new();
        bad.insert((1, 2), 3);
        assert!(
            JsonText::of(&bad).is_none(),
            "a map keyed by tuples has no JSON"
        );
    }
}
