//! # idbridge-file
//!
//! The embedded default adapter: a directory of users, groups, roles and grants kept in
//! one YAML or JSON file, usable both as source and as target. Every write is validated
//! and saved atomically. See `adapters/file/README.md`.

pub mod format;

pub use format::{
    COMPLETE_KEY, Complete, DirGrant, DirGroup, DirRole, DirUser, Directory, Format,
    NeutralDirectory, is_valid_email,
};

pub mod limits;

mod adapter;
mod commit;
mod draft;
mod held;
mod listing;
mod ops;
mod reload;

pub use adapter::{BATCH_MAX, DEFAULT_PAGE_SIZE, FileAdapter, OpenOptions};
pub use reload::DEFAULT_MAX_FILE_BYTES;

idbridge_core::register_adapter! {
    name: "file",
    description: "A directory of users, groups, roles and grants kept in one YAML or JSON file",
    capabilities: FileAdapter::declared_capabilities,
    example_config: "path = \"examples/directory.yaml\"  # relative to this file\ncreate = false                  # create an empty file if missing\nrequire_complete = true         # refuse a file without its `complete` trailer\nmax_file_bytes = 4294967296     # the largest file read (4 GiB)",
    secret_keys: &[],
    build: FileAdapter::build,
}
