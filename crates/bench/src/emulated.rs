//! Every shipped vendor emulator as a sync target, with injected latency, a directory file as
//! the source, and request accounting from the emulators' own request logs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use idbridge_core::{AdapterConfig, Error, Result, registry};
use idbridge_file::{Directory, Format};
use idbridge_store::Store;
use idbridge_sync::{Engine, Plan, Target, TargetSettings};
use idbridge_testkit::emulator::{
    EmulatorOptions, LoggedRequest, RequestClass, RunningEmulator, start_emulator,
};
use serde_json::Value;

use crate::planning::targets;

/// Keeps the shipped adapter and emulator crates linked, so that they are registered.
pub fn link_vendors() {
    idbridge_platforms::link_all();
}

/// One target: its name, vendor and emulator.
pub struct EmulatedTarget {
    /// The target's name (its vendor's).
    pub name: &'static str,
    /// The vendor.
    pub vendor: &'static str,
    /// The running emulator.
    pub emulator: RunningEmulator,
}

/// One adapter key set on a vendor's target for a benchmark run (`--set VENDOR.KEY=VALUE`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterSetting {
    /// The vendor whose target gets the key.
    pub vendor: String,
    /// The adapter's key.
    pub key: String,
    /// The value: JSON where the text is JSON (`16`, `false`), else the text itself.
    pub value: Value,
}

impl std::str::FromStr for AdapterSetting {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not VENDOR.KEY=VALUE"))?;
        let (vendor, key) = name
            .split_once('.')
            .filter(|(v, k)| !v.is_empty() && !k.is_empty())
            .ok_or_else(|| format!("`{name}` is not VENDOR.KEY"))?;
        Ok(AdapterSetting {
            vendor: vendor.to_string(),
            key: key.to_string(),
            value: serde_json::from_str(value).unwrap_or_else(|_| Value::from(value)),
        })
    }
}

/// A source file, a state file and the emulated targets.
pub struct World {
    /// Holds the source and state files.
    pub dir: tempfile::TempDir,
    /// The source directory file.
    pub source_path: PathBuf,
    /// The targets, in engine order.
    pub targets: Vec<EmulatedTarget>,
    /// The engine over them.
    pub engine: Engine,
    /// The latency every emulator adds to each request.
    pub latency: Duration,
    /// Operations in flight per target.
    pub concurrency: usize,
}

/// Writes `dir` as the source file at `path` (JSON: the quickest to read).
///
/// # Errors
/// When the file cannot be written.
pub fn write_source(path: &std::path::Path, dir: &Directory) -> Result<()> {
    let text = dir.to_text(Format::Json)?;
    std::fs::write(path, text)
        .map_err(|e| Error::unavailable(format!("cannot write `{}`: {e}", path.display())))
}

impl World {
    /// Starts the emulators (each seeded with `seed`, if any) and connects an engine whose
    /// source is `source`.
    ///
    /// # Errors
    /// When an emulator does not start or an adapter cannot connect.
    pub async fn start(
        source: &Directory,
        seed: Option<&Directory>,
        latency: Duration,
        concurrency: usize,
    ) -> Result<World> {
        World::start_only(source, seed, latency, concurrency, &[], &[]).await
    }

    /// [`World::start`] with only the targets of the vendors named in `only` (all of them
    /// when it is empty): one emulator at a time holds a million users where four do not
    /// fit in memory.
    ///
    /// # Errors
    /// As [`World::start`], and [`idbridge_core::ErrorKind::InvalidInput`] naming the
    /// vendors that have an emulator when `only` or `extra` names another; a key
    /// the adapter does not know fails as in a configuration file, naming the key.
    pub async fn start_only(
        source: &Directory,
        seed: Option<&Directory>,
        latency: Duration,
        concurrency: usize,
        only: &[String],
        extra: &[AdapterSetting],
    ) -> Result<World> {
        link_vendors();
        let all = targets();
        let named = only
            .iter()
            .map(|v| ("--target", v))
            .chain(extra.iter().map(|s| ("--set", &s.vendor)));
        for (option, vendor) in named {
            if !all.iter().any(|t| t.1 == vendor.as_str()) {
                let known: Vec<&str> = all.iter().map(|t| t.1).collect();
                return Err(Error::invalid_input(format!(
                    "{option} {vendor}: no emulator of that vendor; the vendors with one are {}",
                    known.join(", ")
                )));
            }
        }
        let dir = tempfile::tempdir()
            .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")))?;
        let source_path = dir.path().join("source.json");
        write_source(&source_path, source)?;
        let mut emulated = Vec::new();
        let mut engine_targets = Vec::new();
        let chosen = all
            .into_iter()
            .filter(|t| only.is_empty() || only.iter().any(|v| v == t.1));
        for (name, vendor, settings) in chosen {
            let options = EmulatorOptions {
                latency,
                seed: seed.map(Directory::to_snapshot),
                ..EmulatorOptions::default()
            };
            let emulator = start_emulator(vendor, options).await?;
            let mut config = emulator.adapter_config(name);
            // Some platforms answer a listing unpaged: at 100k users that passes the
            // default 64 MiB a response may hold.
            config
                .settings
                .insert("max_response_mib".into(), Value::from(16_384));
            for s in extra.iter().filter(|s| s.vendor == vendor) {
                config.settings.insert(s.key.clone(), s.value.clone());
            }
            let handle = registry::build_adapter(vendor, config).await?;
            let mut settings = settings;
            if let Value::Object(m) = &mut settings {
                m.insert("concurrency".into(), Value::from(concurrency));
                // The benchmarks provision, link and change thousands of accounts at once
                // on purpose: the guards' small defaults would refuse their first runs.
                for guard in [
                    "max_deletions",
                    "max_adoptions",
                    "max_membership_removals",
                    "max_revocations",
                ] {
                    m.insert(guard.into(), Value::from(100_000_000));
                }
            }
            engine_targets.push(Target {
                handle,
                settings: TargetSettings::from_json(name, settings)?,
            });
            emulated.push(EmulatedTarget {
                name,
                vendor,
                emulator,
            });
        }
        let source_handle = registry::build_adapter(
            "file",
            AdapterConfig::new("source", serde_json::json!({ "path": source_path })),
        )
        .await?;
        let store = Store::open(&dir.path().join("state.db"))?;
        let engine = Engine::new(source_handle, engine_targets, store);
        Ok(World {
            dir,
            source_path,
            targets: emulated,
            engine,
            latency,
            concurrency,
        })
    }

    /// Replaces the source file and reconnects the engine's source to it.
    ///
    /// # Errors
    /// When the file cannot be written or opened.
    pub async fn set_source(&mut self, source: &Directory) -> Result<()> {
        write_source(&self.source_path, source)?;
        let source_handle = registry::build_adapter(
            "file",
            AdapterConfig::new("source", serde_json::json!({ "path": self.source_path })),
        )
        .await?;
        let store = Store::open(&self.dir.path().join("state.db"))?;
        self.engine = Engine::new(source_handle, self.engine.targets().to_vec(), store);
        Ok(())
    }

    /// Where each emulator's request log stands now.
    pub fn mark(&self) -> Vec<usize> {
        self.targets
            .iter()
            .map(|t| t.emulator.server.log().entries().len())
            .collect()
    }

    /// The requests each target received since `mark`, logins and token exchanges (as
    /// each emulator classifies its requests) left out.
    pub fn since(&self, mark: &[usize]) -> Vec<Requests> {
        self.targets
            .iter()
            .zip(mark)
            .map(|(t, &from)| {
                let entries = t.emulator.server.log().entries();
                Requests::of(entries.get(from..).unwrap_or(&[]))
            })
            .collect()
    }

    /// The latency each target's emulator has injected so far (see
    /// [`idbridge_testkit::emulator::RequestLog::latency_waited`]).
    pub fn latency_waited(&self) -> Vec<Duration> {
        self.targets
            .iter()
            .map(|t| t.emulator.server.log().latency_waited())
            .collect()
    }

    /// Retries the adapters made so far, per target (each retry is also a request).
    pub fn retries(&self) -> Vec<u64> {
        self.engine
            .targets()
            .iter()
            .map(|t| t.handle.request_counts().map_or(0, |c| c.retries))
            .collect()
    }
}

/// A path with its ids replaced by `{id}`: any segment holding a digit, or longer than 20
/// characters (ids of 22 characters of base64 have no digit at times).
pub fn pattern(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.chars().any(|c| c.is_ascii_digit()) || s.len() > 20 {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Requests received by one target in a window.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    /// Requests the emulator classes as reads.
    pub reads: usize,
    /// Requests the emulator classes as writes.
    pub writes: usize,
    /// Requests that drew an injected fault.
    pub faulted: usize,
    /// Counts by `METHOD pattern`.
    pub by_pattern: BTreeMap<String, usize>,
}

impl Requests {
    fn of(entries: &[LoggedRequest]) -> Requests {
        let mut r = Requests::default();
        for e in entries.iter() {
            match e.class {
                RequestClass::Login => continue,
                RequestClass::Read => r.reads += 1,
                RequestClass::Write => r.writes += 1,
            }
            if e.fault.is_some() {
                r.faulted += 1;
            }
            *r.by_pattern
                .entry(format!("{} {}", e.method, pattern(&e.path)))
                .or_default() += 1;
        }
        r
    }

    /// Reads plus writes.
    pub fn total(&self) -> usize {
        self.reads + self.writes
    }
}

/// The fewest write requests that carry out `plan`'s part for target `name`: one per
/// operation that writes to the target, user writes grouped by `batch_max` where the
/// adapter takes batches.
pub fn required_writes(plan: &Plan, name: &str, batch_max: Option<usize>) -> usize {
    let Some(tp) = plan.target(name) else {
        return 0;
    };
    let writing = tp.ops.iter().filter(|o| o.action.writes_target());
    match batch_max.filter(|m| *m > 1) {
        None => writing.count(),
        Some(max) => {
            let (users, other): (Vec<_>, Vec<_>) = writing.partition(|o| o.action.is_user_write());
            other.len() + users.len().div_ceil(max)
        }
    }
}

/// Prints the request breakdown of each target, most frequent first.
pub fn print_breakdown(world: &World, requests: &[Requests]) {
    for (t, r) in world.targets.iter().zip(requests) {
        let mut rows: Vec<(&String, &usize)> = r.by_pattern.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let text: Vec<String> = rows.iter().map(|(p, n)| format!("{n} x {p}")).collect();
        println!("    {} ({}): {}", t.name, t.vendor, text.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::AdapterSetting;
    use serde_json::json;

    #[test]
    fn a_setting_names_vendor_key_and_value() {
        let s: AdapterSetting = "strategy.list_details_concurrency=32"
            .parse()
            .expect("valid");
        assert_eq!(
            (s.vendor.as_str(), s.key.as_str(), s.value),
            ("strategy", "list_details_concurrency", json!(32))
        );
        let s: AdapterSetting = "scim.base_path=/v2".parse().expect("valid");
        assert_eq!(s.value, json!("/v2"));
        let s: AdapterSetting = "strategy.list_details=false".parse().expect("valid");
        assert_eq!(s.value, json!(false));
        for bad in [
            "strategy=1",
            "strategy.list_details",
            ".key=1",
            "strategy.=1",
        ] {
            let err = bad.parse::<AdapterSetting>().expect_err(bad);
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }
}
