//! Sessions. The DSS public API can neither list UI sessions nor end them, so every session
//! operation is undeclared and answers unsupported. What exists instead: the user's last
//! login and last session activity ([`idbridge_core::Users::user_activity`], from
//! `GET /admin/users/{login}/activity`), and disabling the user (`enabled: false`), which is
//! the way to cut someone's access.

use idbridge_core::{Sessions, async_trait};

use crate::adapter::DataikuAdapter;

#[async_trait]
impl Sessions for DataikuAdapter {}
