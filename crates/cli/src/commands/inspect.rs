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
            // Read page by page into the engine's compact table (about 110 bytes a user,
            // against about 1 KB as neutral records with their sort keys).
            let users = run_connected(target.connect(), |h| async move {
                idbridge_sync::state::users_table(&h).await
            })
            .await?;
            crate::timing::done("read", reading);
            let sorting = std::time::Instant::now();
            let order = by_login(&users);
            crate::timing::done("sort", sorting);
            let printing = std::time::Instant::now();
            if target.json {
                crate::output::json_line(&UserLines {
                    users: &users,
                    order: &order,
                });
            } else {
                let rows: Vec<Vec<String>> = order
                    .iter()
                    .map(|&at| {
                        let u = users.get(at as usize);
                        vec![
                            u.id.to_string(),
                            u.login.to_string(),
                            opt(u.email),
                            opt(u.display_name),
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

/// The positions of `users` in login order, ignoring case (`str::to_lowercase`), users
/// with the same folded login in listing order. The whole listing must be read before the
/// first line either way; sorting 4-byte positions over the compact table, instead of the
/// neutral records with a lowered copy of every login, keeps that at about 115 bytes a
/// user. (An external merge sort would bound memory further at the price of temporary
/// files as large as the listing; a million users hold about 115 MB this way.)
fn by_login(users: &idbridge_sync::table::UserTable) -> Vec<u32> {
    let mut order: Vec<u32> = (0..u32::try_from(users.len()).unwrap_or(u32::MAX)).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (users.get(a as usize).login, users.get(b as usize).login);
        if a.is_ascii() && b.is_ascii() {
            // The common case, without an allocation per comparison.
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        } else {
            a.to_lowercase().cmp(&b.to_lowercase())
        }
    });
    order
}

/// `users list --json`: the users as an array written one user at a time, each with its
/// keys in sorted order (the form this listing has always printed).
struct UserLines<'a> {
    users: &'a idbridge_sync::table::UserTable,
    /// The positions to print, in order.
    order: &'a [u32],
}

impl serde::Serialize for UserLines<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        /// One user's printed fields, in sorted order.
        #[derive(serde::Serialize)]
        struct Line<'a> {
            display_name: Option<&'a str>,
            email: Option<&'a str>,
            enabled: bool,
            id: &'a str,
            login: &'a str,
        }
        s.collect_seq(self.order.iter().map(|&at| {
            let u = self.users.get(at as usize);
            Line {
                display_name: u.display_name,
                email: u.email,
                enabled: u.enabled,
                id: u.id,
                login: u.login,
            }
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
        let table = idbridge_sync::table::UserTable::from_users(users).expect("table");
        let lines = UserLines {
            users: &table,
            order: &[0, 1],
        };
        assert_eq!(serde_json::to_string(&lines).expect("new"), old);
        let none = UserLines {
            users: &table,
            order: &[],
        };
        assert_eq!(serde_json::to_string(&none).expect("new"), "[]");
    }

    #[test]
    fn users_are_listed_by_login_ignoring_case_ties_in_listing_order() {
        let user = |id: &str, login: &str| idbridge_core::User {
            id: id.into(),
            login: login.into(),
            email: None,
            display_name: None,
            enabled: true,
            attributes: Default::default(),
        };
        let users = vec![
            user("1", "bob"),
            user("2", "Émile"),
            user("3", "alice"),
            user("4", "Bob"),
            user("5", "émile"),
            user("6", "Zed"),
            user("7", "ΟΔΟΣ"),
        ];
        let mut expected = users.clone();
        expected.sort_by_cached_key(|u| u.login.to_lowercase());
        let table = idbridge_sync::table::UserTable::from_users(users).expect("table");
        let listed: Vec<String> = by_login(&table)
            .iter()
            .map(|&at| table.get(at as usize).id.to_string())
            .collect();
        let expected: Vec<String> = expected.into_iter().map(|u| u.id).collect();
        assert_eq!(listed, expected);
        assert_eq!(listed, ["3", "1", "4", "6", "2", "5", "7"]);
    }
}
