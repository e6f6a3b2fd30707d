//! Sealing saved plans, so that `apply` takes only a plan this idbridge wrote, for this
//! configuration and this state file, unaltered.
//!
//! The seal is an HMAC-SHA-256 keyed with a secret made in the state file on first use
//! ([`idbridge_store::Store::plan_key`]). It covers the plan's digest, a keyed digest of
//! the normalized configuration (secrets included, but only ever through the key, so
//! nothing in a plan file helps guess them) and a digest of the key naming the state file.
//! Editing the plan, or applying it with another configuration or another state file,
//! breaks the seal, and the check names which of these differs.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::plan::{Plan, Seal};

type HmacSha256 = Hmac<Sha256>;

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Seals and checks plans with one state file's key and one configuration.
pub struct Sealer {
    key: [u8; 32],
    state: String,
    config: String,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret.
        f.debug_struct("Sealer")
            .field("state", &self.state)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer with the state file's `key` for the configuration whose normalized form
    /// is `config` (any stable serialization of every setting that shapes a plan).
    pub fn new(key: [u8; 32], config: &[u8]) -> Sealer {
        let state = hex(&Sha256::new()
            .chain_update(b"idbridge state file\0")
            .chain_update(key)
            .finalize()[..16]);
        let config = hex(&Self::keyed(&key, &[b"idbridge configuration\0", config]));
        Sealer { key, state, config }
    }

    fn keyed(key: &[u8; 32], parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = Self::mac_with(key);
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn mac_with(key: &[u8; 32]) -> HmacSha256 {
        // A key shorter than the hash's block is zero-padded to it (RFC 2104), so this is
        // HMAC with `key`, and the block-sized key cannot be refused.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(key);
        <HmacSha256 as KeyInit>::new(&block.into())
    }

    fn plan_mac(&self, digest: &str, config: &str, state: &str) -> HmacSha256 {
        let mut mac = Self::mac_with(&self.key);
        for part in [
            b"idbridge plan\0".as_slice(),
            digest.as_bytes(),
            b"\0",
            config.as_bytes(),
            b"\0",
            state.as_bytes(),
        ] {
            mac.update(part);
        }
        mac
    }

    /// Puts this sealer's seal on `plan` (replacing any), and returns the plan's
    /// [`Plan::digest`], which the seal covers (a large plan's digest takes seconds).
    pub fn seal(&self, plan: &mut Plan) -> String {
        let digest = plan.digest();
        plan.seal = Some(self.seal_of(&digest));
        digest
    }

    /// The seal of a plan whose [`Plan::digest`] is `digest`.
    fn seal_of(&self, digest: &str) -> Seal {
        let mac = self.plan_mac(digest, &self.config, &self.state);
        Seal {
            state: self.state.clone(),
            config: self.config.clone(),
            mac: hex(&mac.finalize().into_bytes()),
        }
    }

    /// Seals `plan` as [`Sealer::seal`] does and writes it to `out` as
    /// [`Plan::write_json`] does, the same bytes, in about the time of the longer of the
    /// two: the digest is computed on a second thread while the operations are written,
    /// and the seal, the last field, is written when it is known. Returns the digest.
    ///
    /// # Errors
    /// The first write error of `out` (the plan then carries no new seal).
    pub fn write_sealed(
        &self,
        plan: &mut Plan,
        out: impl std::io::Write,
    ) -> std::io::Result<String> {
        let (sent, received) = std::sync::mpsc::channel();
        let digest = std::cell::RefCell::new(None);
        let shared: &Plan = plan;
        std::thread::scope(|threads| {
            threads.spawn(move || {
                // The writer may have stopped on an error and no longer listen.
                let _ = sent.send(shared.digest());
            });
            shared.write_json_sealed_by(out, &|| {
                let d = received.recv().ok()?;
                let seal = self.seal_of(&d);
                *digest.borrow_mut() = Some(d);
                Some(seal)
            })
        })?;
        let Some(digest) = digest.into_inner() else {
            return Err(std::io::Error::other(
                "the plan's digest could not be computed",
            ));
        };
        let seal = self.seal_of(&digest);
        plan.seal = Some(seal);
        Ok(digest)
    }

    /// Checks the seal of `plan`: `Err` says why the plan is not taken as one this
    /// idbridge wrote, for this configuration and state file, unaltered.
    pub fn check(&self, plan: &Plan) -> std::result::Result<(), String> {
        self.check_digest(plan, &plan.digest())
    }

    /// [`Sealer::check`] with the plan's [`Plan::digest`] already computed.
    pub fn check_digest(&self, plan: &Plan, digest: &str) -> std::result::Result<(), String> {
        let Some(seal) = &plan.seal else {
            return Err(
                "it carries no seal, so it was not written by `idbridge plan --out` (or was \
                 written by a version that did not seal plans)"
                    .to_string(),
            );
        };
        let mac = unhex(&seal.mac);
        let genuine = mac.as_deref().is_some_and(|m| {
            self.plan_mac(digest, &seal.config, &seal.state)
                .verify_slice(m)
                .is_ok()
        });
        if seal.state != self.state {
            return Err(
                "it was written with another state file (its seal is not this state file's)"
                    .to_string(),
            );
        }
        if !genuine {
            return Err(
                "its content was altered after it was written (the seal does not match the \
                 operations and numbers in the file)"
                    .to_string(),
            );
        }
        if seal.config != self.config {
            return Err(
                "it was made with another configuration (the configuration changed since, or \
                 another configuration file was given)"
                    .to_string(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TargetPlan;

    #[test]
    fn a_sealed_plan_checks_and_every_change_is_named() {
        let key = [7u8; 32];
        let sealer = Sealer::new(key, b"config one");
        let mut plan = Plan::new();
        plan.targets.push(TargetPlan::new("bi", "file"));
        assert!(
            sealer
                .check(&plan)
                .expect_err("unsealed")
                .contains("no seal")
        );
        sealer.seal(&mut plan);
        sealer.check(&plan).expect("sealed");
        let back = Plan::from_json(&plan.to_json()).expect("parses");
        sealer.check(&back).expect("read back");

        let mut altered = plan.clone();
        altered.targets[0].managed_users = 100_000;
        let why = sealer.check(&altered).expect_err("altered");
        assert!(why.contains("content was altered"), "{why}");

        let other_config = Sealer::new(key, b"config two");
        let why = other_config.check(&plan).expect_err("other config");
        assert!(why.contains("another configuration"), "{why}");

        let other_state = Sealer::new([8u8; 32], b"config one");
        let why = other_state.check(&plan).expect_err("other state");
        assert!(why.contains("another state file"), "{why}");

        // Claiming this configuration in a seal made for another does not pass either.
        let mut forged = plan.clone();
        if let Some(s) = forged.seal.as_mut() {
            s.config = "00".repeat(32);
        }
        assert!(
            sealer
                .check(&forged)
                .expect_err("forged")
                .contains("altered")
        );
        assert!(!format!("{sealer:?}").contains("7, 7"));
    }

    #[test]
    fn sealing_while_writing_gives_the_bytes_and_digest_of_sealing_first() {
        use crate::plan::{Action, CreateUser, GroupRef, PrincipalKind, PrincipalRef, Ref};
        use std::sync::Arc;
        let mut plan = Plan::new();
        let mut t = TargetPlan::new("bi", "file");
        for i in 0..300 {
            let login = format!("user{i}");
            let created = t.push(
                Action::CreateUser(CreateUser::new(
                    &format!("s{i}"),
                    &idbridge_core::NewUser::new(&login),
                    "f",
                )),
                vec![],
            );
            t.push(
                Action::AddMember {
                    group: Arc::new(GroupRef {
                        at: Ref::Id("G1".into()),
                        name: "staff".into(),
                    }),
                    member: Arc::new(PrincipalRef {
                        kind: PrincipalKind::User,
                        at: Ref::Created(created),
                        name: login.as_str().into(),
                    }),
                },
                vec![created],
            );
        }
        plan.targets.push(t);
        plan.made_by = Some("alice".into());
        let sealer = Sealer::new([7u8; 32], b"config");

        let mut first = plan.clone();
        let digest_first = sealer.seal(&mut first);
        let mut bytes_first = Vec::new();
        first.write_json(&mut bytes_first).expect("written");

        let mut later = plan.clone();
        let mut bytes_later = Vec::new();
        let digest_later = sealer
            .write_sealed(&mut later, &mut bytes_later)
            .expect("written");
        assert_eq!(digest_later, digest_first);
        assert_eq!(later.seal, first.seal);
        assert!(bytes_later == bytes_first, "the same bytes");
        let back =
            Plan::from_json(&String::from_utf8(bytes_later).expect("utf-8")).expect("parses");
        sealer.check(&back).expect("the seal holds");

        // Without a maker the field is left out, as the derived form leaves it out.
        let mut anonymous = plan.clone();
        anonymous.made_by = None;
        let mut a = anonymous.clone();
        sealer.seal(&mut a);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        a.write_json(&mut x).expect("written");
        sealer
            .write_sealed(&mut anonymous, &mut y)
            .expect("written");
        assert!(x == y, "the same bytes without a maker");

        // A write error stops it and leaves the plan unsealed.
        struct Full;
        impl std::io::Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut failing = plan.clone();
        let e = sealer.write_sealed(&mut failing, Full).expect_err("fails");
        assert!(e.to_string().contains("disk full"), "{e}");
        assert!(failing.seal.is_none());
    }
}
