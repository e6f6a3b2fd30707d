//! `idbridge users|groups|sessions ...`: read-only views of any configured system.

use crate::output::{out, outln};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use idbridge_core::{AdapterHandle, Principal, Result};
use serde_json::json;

use super::connected::run_connected;
use crate::output::{opt, table};

/// Which system to read, from which configuration.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The configuration file (TOML, YAML or JSON).
    #[arg(short = 'c', long = "config")]
    config: PathBuf,
    /// The system: `source` or a target name.
    #[arg(long)]
    system: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Target {
    async fn connect(&self) -> Result<AdapterHandle> {
        let config = super::load_config(&self.config)?;
        let section = config.system(&self.system)?;
        super::connect(&config, section).await
    }
}

/// `idbridge users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List every user.
    List(Target),
    /// Show a user's last login and activity (for platforms without session listing).
    Activity {
        #[command(flatten)]
        target: Target,
        /// The user's id on that system.
        id: String,
    },
}

/// `idbridge groups ...`
#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List every group with its direct members.
    List(Target),
}

/// `idbridge sessions ...`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List live sessions, of everyone or of one user.
    List {
        #[command(flatten)]
        target: Target,
        /// Only this user's sessions (the user's id on that system).
        #[arg(long)]
        user: Option<String>,
    },
}

/// Runs a `users` subcommand.
pub async fn users(cmd: UsersCommand) -> Result<ExitCode> {
    match cmd {
        UsersCommand::List(target) => {
            let reading = std::time::Instant::now();
            let mut users =
                run_connected(target.connect(), |h| async move { h.all_users().await }).await?;
            crate::timing::done("read", reading);
            let sorting = std::time::Instant::now();
            // Listed by login, so the whole listing is read before the first line; each
            // login is lowered once, not at every comparison.
            users.sort_by_cached_key(|u| u.login.to_lowercase());
            crate::timing::done("sort", sorting);
            let printing = std::time::Instant::now();
            if target.json {
                crate::output::json_line(&UserLines(&users));
            } else {
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.id.clone(),
                            u.login.clone(),
                            opt(u.email.as_deref()),
                            opt(u.display_name.as_deref()),
                            if u.enabled { "yes" } else { "no" }.to_string(),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table(&["ID", "LOGIN", "EMAIL", "DISPLAY NAME", "ENABLED"], &rows)
                );
                outln!("{} user(s)", users.len());
            }
            crate::timing::done("output", printing);
            Ok(ExitCode::SUCCESS)
        }
        UsersCommand::Activity { target, id } => {
            let activity =
                run_connected(
                    target.connect(),
                    |h| async move { h.user_activity(&id).await },
                )
                .await?;
            if target.json {
                crate::output::json_line(&activity);
            } else {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map_or("never".to_string(), |t| t.to_rfc3339())
                };
                outln!("user {}", idbridge_core::text::Escaped(&activity.user));
                outln!("  last login:            {}", when(activity.last_login));
                outln!(
                    "  last session activity: {}",
                    when(activity.last_session_activity)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a `groups` subcommand.
pub async fn groups(cmd: GroupsCommand) -> Result<ExitCode> {
    match cmd {
        GroupsCommand::List(target) => {
            let mut groups =
                run_connected(target.connect(), |h| async move { list_groups(&h).await }).await?;
            groups.sort_by_key(|g| g.0.name.to_lowercase());
            if target.json {
                let list: Vec<_> = groups
                    .iter()
                    .map(|(g, members)| {
                        json!({
                            "id": g.id,
                            "name": g.name,
                            "description": g.description,
                            "members": members,
                        })
                    })
                    .collect();
                crate::output::json_line(&serde_json::Value::Array(list));
            } else {
                let rows: Vec<Vec<String>> = groups
                    .iter()
                    .map(|(g, members)| {
                        vec![
                            g.id.clone(),
                            g.name.clone(),
                            opt(g.description.as_deref()),
                            members.as_ref().map_or("-".to_string(), |m| {
                                let users = m.iter().filter(|p| !p.is_group()).count();
                                let groups = m.len() - users;
                                format!("{users} user(s), {groups} group(s)")
                            }),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table(&["ID", "NAME", "DESCRIPTION", "MEMBERS"], &rows)
                );
                outln!("{} group(s)", groups.len());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

type GroupWithMembers = (idbridge_core::Group, Option<Vec<Principal>>);

/// Every group with its direct members, read the way a sync reads them (one listing for
/// all groups where the system offers it, else 8 groups at a time).
async fn list_groups(handle: &AdapterHandle) -> Result<Vec<GroupWithMembers>> {
    let groups = handle.all_groups().await?;
    let caps = handle.capabilities();
    let mut members = if caps.members_list || caps.members_list_all {
        let ids = groups.iter().map(|g| g.id.clone()).collect();
        Some(idbridge_sync::state::read_members(handle, ids, 8).await?)
    } else {
        None
    };
    Ok(groups
        .into_iter()
        .map(|g| {
            let m = members
                .as_mut()
                .map(|all| all.remove(&g.id).unwrap_or_default());
            (g, m)
        })
        .collect())
}

/// Runs a `sessions` subcommand.
pub async fn sessions(cmd: SessionsCommand) -> Result<ExitCode> {
    match cmd {
        SessionsCommand::List { target, user } => {
            let sessions = run_connected(target.connect(), |h| async move {
                h.all_sessions(user.as_deref()).await
            })
            .await?;
            if target.json {
                crate::output::json_line(&sessions);
            } else {
                let rows: Vec<Vec<String>> = sessions
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.clone(),
                            s.login.clone().unwrap_or_else(|| s.user.clone()),
                            s.started.map_or("-".to_string(), |t| t.to_rfc3339()),
                            opt(s.client.as_deref()),
                            opt(s.node.as_deref()),
                        ]
                    })
                    .collect();
                out!(
                    "{}",
                    table(&["ID", "USER", "STARTED", "CLIENT", "NODE"], &rows)
                );
                outln!("{} session(s)", sessions.len());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `users list --json`: the users as an array written one user at a time, each with its
/// keys in sorted order (the form this listing has always printed).
struct UserLines<'a>(&'a [idbridge_core::User]);

impl serde::Serialize for UserLines<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        /// One user's printed fields, in sorted order.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            display_name: &'a Option<String>,
            email: &'a Option<String>,
            enabled: bool,
            id: &'a str,
            login: &'a str,
        }
        s.collect_seq(self.0.iter().map(|u| Line {
            display_name: &u.display_name,
            email: &u.email,
            enabled: u.enabled,
            id: &u.id,
            login: &u.login,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_lines_are_the_listing_as_json_values() {
        let user =
            |id: &str, email: Option<&str>, name: Option<&str>, enabled| idbridge_core::User {
                id: id.into(),
                login: format!("{id}\u{202e}\"x"),
                email: email.map(str::to_string),
                display_name: name.map(str::to_string),
                enabled,
                attributes: [("k".to_string(), "v".to_string())].into_iter().collect(),
            };
        let users = vec![
            user("u1", Some("a@b.c"), None, true),
            user("u2", None, Some("Zoë"), false),
        ];
        let old: Vec<serde_json::Value> = users
            .iter()
            .map(|u| {
                json!({
                    "id": u.id,
                    "login": u.login,
                    "email": u.email,
                    "display_name": u.display_name,
                    "enabled": u.enabled,
                })
            })
            .collect();
        let old = serde_json::to_string(&serde_json::Value::Array(old)).expect("old");
        assert_eq!(serde_json::to_string(&UserLines(&users)).expect("new"), old);
        assert_eq!(serde_json::to_string(&UserLines(&[])).expect("new"), "[]");
    }
}
