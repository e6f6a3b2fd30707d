//! The authorization matrix and the (always finished) futures.

use super::*;

impl State {
    /// `GET /admin/authorization-matrix`: per enabled user and per group, the effective
    /// global flags and the project flags.
    pub fn authorization_matrix(&self) -> Value {
        let inner = self.lock();
        let global_of = |doc: &Doc| -> Map<String, Value> {
            GROUP_FLAGS
                .iter()
                .map(|f| {
                    (
                        (*f).to_string(),
                        Value::Bool(doc.get(*f).and_then(Value::as_bool) == Some(true)),
                    )
                })
                .collect()
        };
        let project_of = |principal: (&str, &str)| -> Map<String, Value> {
            inner
                .projects
                .iter()
                .filter_map(|(k, p)| {
                    let items = p.permissions.get("permissions")?.as_array()?;
                    let e = items.iter().find(|e| {
                        e.get(principal.0).and_then(Value::as_str) == Some(principal.1)
                    })?;
                    Some((k.clone(), e.clone()))
                })
                .collect()
        };
        let mut per_group = Map::new();
        for (name, g) in &inner.groups {
            per_group.insert(
                name.clone(),
                json!({
                    "globalPermissions": global_of(g),
                    "projectPermissions": project_of(("group", name)),
                }),
            );
        }
        let mut per_user = Map::new();
        for (login, u) in &inner.users {
            if u.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let mut global: Map<String, Value> = GROUP_FLAGS
                .iter()
                .map(|f| ((*f).to_string(), Value::Bool(false)))
                .collect();
            for g in crate::emulator::state::groups_of(u) {
                if let Some(gd) = inner.groups.get(&g) {
                    for (f, v) in global_of(gd) {
                        if v == Value::Bool(true) {
                            global.insert(f, v);
                        }
                    }
                }
            }
            per_user.insert(
                login.clone(),
                json!({
                    "groups": u.get("groups"),
                    "globalPermissions": global,
                    "projectPermissions": project_of(("user", login)),
                }),
            );
        }
        json!({"perUser": per_user, "perGroup": per_group})
    }

    /// A future that has already finished with `result`.
    pub fn finished_future(&self, result: Value) -> Value {
        let mut inner = self.lock();
        inner.next_job += 1;
        json!({
            "jobId": format!("emulated-{}", inner.next_job),
            "hasResult": true,
            "alive": false,
            "result": result,
            "progress": {"states": []},
        })
    }
}
