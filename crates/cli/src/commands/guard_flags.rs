//! The guard overrides `plan`, `apply` and `sync` share: `--allow-removals` and
//! `--allow-adoptions` (each command words `--allow-deletions` its own way).

use idbridge_sync::Allowances;

/// `--allow-removals N` and `--allow-adoptions N`.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct GuardFlags {
    /// Let up to N membership removals and N role revocations per target through the
    /// guard (`max_membership_removals`, `max_revocations` and their percentages), once.
    #[arg(long, value_name = "N")]
    pub allow_removals: Option<usize>,
    /// Let up to N adoptions of existing accounts per target through the guard
    /// (`max_adoptions`), once.
    #[arg(long, value_name = "N")]
    pub allow_adoptions: Option<usize>,
}

impl GuardFlags {
    /// The guard's overrides: these flags and `--allow-deletions` (`deletions`).
    pub fn allowances(&self, deletions: Option<usize>) -> Allowances {
        Allowances {
            deletions,
            removals: self.allow_removals,
            adoptions: self.allow_adoptions,
        }
    }
}
