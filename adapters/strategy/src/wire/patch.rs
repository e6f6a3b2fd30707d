//! The PATCH `operationList` body.

use serde::Serialize;
use serde_json::Value;

/// One operation of a PATCH `operationList`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    /// `replace`, `add`, `remove`, `addElement`, `removeElement`.
    pub op: &'static str,
    /// The camel-case field with a leading `/`.
    pub path: &'static str,
    /// The value.
    pub value: Value,
}

impl Operation {
    /// `replace` on a scalar field.
    pub fn replace(path: &'static str, value: impl Into<Value>) -> Self {
        Operation {
            op: "replace",
            path,
            value: value.into(),
        }
    }

    /// `add` of ids to a list field (the value is always an array, as the SDK sends it).
    pub fn add_ids(path: &'static str, ids: &[&str]) -> Self {
        Operation {
            op: "add",
            path,
            value: Value::from(ids.iter().map(|s| Value::from(*s)).collect::<Vec<_>>()),
        }
    }

    /// `remove` of ids from a list field.
    pub fn remove_ids(path: &'static str, ids: &[&str]) -> Self {
        Operation {
            op: "remove",
            path,
            value: Value::from(ids.iter().map(|s| Value::from(*s)).collect::<Vec<_>>()),
        }
    }
}

/// A PATCH body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationList {
    /// The operations, applied in order.
    pub operation_list: Vec<Operation>,
}

impl OperationList {
    /// A body of the given operations.
    pub fn of(ops: Vec<Operation>) -> Self {
        OperationList {
            operation_list: ops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operation_list_shape() {
        let body = OperationList::of(vec![
            Operation::replace("/enabled", false),
            Operation::add_ids("/members", &["A"]),
        ]);
        assert_eq!(
            serde_json::to_value(&body).expect("serializes"),
            json!({"operationList": [
                {"op": "replace", "path": "/enabled", "value": false},
                {"op": "add", "path": "/members", "value": ["A"]}
            ]})
        );
    }
}
