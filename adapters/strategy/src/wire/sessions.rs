//! Cluster nodes, user connections and the bulk-disconnect answer.

use serde::Deserialize;

use super::{Field, lenient_int, lenient_string};

/// One cluster node (C0).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeJson {
    /// The node name (`name`, or `node` on older servers).
    #[serde(default, deserialize_with = "lenient_string", alias = "node")]
    pub name: Option<String>,
    /// `running`, `stopped` or `unknown`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub status: Option<String>,
}

impl NodeJson {
    /// Whether the node serves requests (user connections are listed only there).
    pub fn is_running(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("running"))
    }
}

/// C0: `{"nodes": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Nodes {
    /// The cluster nodes.
    #[serde(default)]
    pub nodes: Vec<NodeJson>,
}

/// One user connection (C1 entries).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionJson {
    /// The connection id (what C2 and C3 take).
    pub id: String,
    /// The user's login name: whose connection it is, read strictly (revoking a user's
    /// sessions must not pass over one it cannot attribute).
    #[serde(default)]
    pub username: Field<String>,
    /// When the connection was opened.
    #[serde(default, deserialize_with = "lenient_string")]
    pub date_connection_created: Option<String>,
    /// When the last job was submitted.
    #[serde(default, deserialize_with = "lenient_string")]
    pub date_last_job_submitted: Option<String>,
    /// The client host or application.
    #[serde(default, deserialize_with = "lenient_string")]
    pub client: Option<String>,
    /// The application type (e.g. `DSSScheduler`).
    #[serde(default, deserialize_with = "lenient_string")]
    pub application_type: Option<String>,
    /// The project name, empty for the configuration-level connection.
    #[serde(default, deserialize_with = "lenient_string")]
    pub project_name: Option<String>,
}

/// C1: `{"userConnections": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserConnections {
    /// The connections on this page.
    #[serde(default)]
    pub user_connections: Vec<ConnectionJson>,
}

/// One entry of a bulk-disconnect answer (C3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DisconnectStatus {
    /// The connection id.
    #[serde(default)]
    pub id: String,
    /// An HTTP-like status: 2xx disconnected, 4xx refused.
    #[serde(default, deserialize_with = "lenient_int")]
    pub status: Option<i64>,
    /// The Intelligence Server's message, if any.
    #[serde(default, deserialize_with = "lenient_string")]
    pub message: Option<String>,
}

/// C3: `{"deleteUserConnectionsStatus": [...]}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectResult {
    /// One status per requested id.
    #[serde(default)]
    pub delete_user_connections_status: Vec<DisconnectStatus>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nodes_accept_old_field_name() {
        let n: Nodes = serde_json::from_value(json!({"nodes": [
            {"node": "old-host", "status": "running"},
            {"name": "new-host", "status": "stopped"}
        ]}))
        .expect("parses");
        assert_eq!(n.nodes[0].name.as_deref(), Some("old-host"));
        assert!(n.nodes[0].is_running());
        assert!(!n.nodes[1].is_running());
    }
}
