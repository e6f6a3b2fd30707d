//! Approving saved plans: with `require_approval = true` in the configuration, `apply`
//! takes a saved plan only once a user other than the one who made it approved it with
//! `idbridge approve`. Approvals are kept in the state file's journal of runs, as runs of
//! command `approve` naming the plan's digest, who approved it and when.

use idbridge_core::{Config, Error, Result};
use idbridge_store::Store;

use crate::plan::Plan;
use crate::seal::Sealer;

/// The normalized configuration a plan is bound to (see [`crate::seal`]): the source and
/// every target with all their settings, in key order, and `require_approval`.
pub fn config_binding(config: &Config) -> Vec<u8> {
    let section = |s: &idbridge_core::SystemSection| serde_json::json!({"name": s.name, "adapter": s.adapter, "settings": s.settings});
    let value = serde_json::json!({
        "source": section(&config.source),
        "targets": config.targets.values().map(section).collect::<Vec<_>>(),
        "require_approval": config.require_approval,
    });
    // Plain JSON values serialize; maps are in key order.
    serde_json::to_vec(&value).unwrap_or_default()
}

/// Records that the operating-system user running this process approves the saved
/// `plan`, after checking that it is sealed for this configuration and state file, was not
/// made by this same user, and was not applied yet. Returns the approval's run id.
///
/// # Errors
/// [`idbridge_core::ErrorKind::InvalidInput`] naming why the plan cannot be approved; a
/// state file that cannot be read or written.
pub fn approve(config: &Config, store: &Store, plan: &Plan) -> Result<i64> {
    let sealer = Sealer::new(store.plan_key()?, &config_binding(config));
    sealer
        .check(plan)
        .map_err(|why| Error::invalid_input(format!("not approving the plan: {why}")))?;
    let digest = plan.digest();
    if let Some(run) = store.run_of_plan(&digest)? {
        return Err(Error::invalid_input(format!(
            "not approving the plan: it was already applied in run {}",
            run.id
        )));
    }
    let me = idbridge_store::os_user();
    if plan.made_by.as_deref() == Some(me.as_str()) {
        return Err(Error::invalid_input(format!(
            "not approving the plan: `{me}` made it, and a plan is approved by another user"
        )));
    }
    store.record_approval(&digest, plan.made_by.as_deref())
}

/// Why `apply` must not take `plan` when approvals are required; `None` when a user other
/// than its maker approved it.
///
/// # Errors
/// A state file that cannot be read.
pub fn missing_approval(store: &Store, plan: &Plan) -> Result<Option<String>> {
    let approvals = store.approvals(&plan.digest())?;
    let maker = plan.made_by.as_deref();
    if approvals
        .iter()
        .any(|a| a.os_user.is_some() && a.os_user.as_deref() != maker)
    {
        return Ok(None);
    }
    let maker = maker.unwrap_or("(unknown)");
    Ok(Some(if approvals.is_empty() {
        format!(
            "it is not approved, and the configuration sets `require_approval`: a user other \
             than its maker `{maker}` approves it with `idbridge approve -c CONFIG PLAN`"
        )
    } else {
        format!(
            "it was approved only by its maker `{maker}`, and the configuration sets \
             `require_approval`: a user other than its maker must approve it"
        )
    }))
}
