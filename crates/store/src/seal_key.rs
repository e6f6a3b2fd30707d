//! The secret key that seals saved plans.

use idbridge_core::Result;

use crate::{Store, corrupt};

impl Store {
    /// The secret key that seals saved plans: 32 random bytes, made in the state file on
    /// first use and never shown. Whoever can read the state file can read it; a plan
    /// sealed with it proves that an idbridge with this state file wrote it.
    ///
    /// # Errors
    /// [`ErrorKind::Unavailable`](idbridge_core::ErrorKind::Unavailable) when the file cannot be read or written.
    pub fn plan_key(&self) -> Result<[u8; 32]> {
        if let Some(pg) = self.pg() {
            return pg.plan_key();
        }
        let conn = self.conn()?;
        // SQLite's randomblob draws from the operating system's random source.
        conn.execute(
            "INSERT OR IGNORE INTO plan_key (id, key) VALUES (1, randomblob(32))",
            [],
        )
        .map_err(|e| self.error("cannot create the plan key", &e))?;
        let key: Vec<u8> = conn
            .query_row("SELECT key FROM plan_key WHERE id = 1", [], |r| r.get(0))
            .map_err(|e| self.error("cannot read the plan key", &e))?;
        key.try_into()
            .map_err(|_| corrupt("the plan key is not 32 bytes".to_string()))
    }
}
