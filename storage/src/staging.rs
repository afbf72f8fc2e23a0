//! Building a ledger directory aside and moving it in whole.
//!
//! Creating a ledger, copying one and receiving a backup all write many files; the directory
//! they are meant for must never hold a half-written database, which a later open would refuse
//! as foreign (or, worse, accept). So each builds in a hidden staging directory and moves the
//! result in only when it is complete and checked, `CURRENT` (which makes it a database) last.

use crate::error::StoreError;
use std::path::{Path, PathBuf};

/// Creates a new, hidden staging directory for `to`: inside it when it exists (an empty
/// directory, perhaps a mount point, kept with its owner and mode), otherwise beside it, named
/// `.NAME.<what>-<pid>-<ns>`. One left by an interrupted process may be removed.
pub fn create_staging_dir(to: &Path, what: &str) -> Result<PathBuf, StoreError> {
    let unique = format!("{what}-{}-{}", std::process::id(), nanos_now());
    let staging = if to.exists() {
        to.join(format!(".{unique}"))
    } else {
        let name = to
            .file_name()
            .ok_or_else(|| StoreError::Io(format!("{} names no directory", to.display())))?
            .to_string_lossy();
        to.with_file_name(format!(".{name}.{unique}"))
    };
    std::fs::create_dir(&staging)
        .map_err(|e| StoreError::Io(format!("creating {}: {e}", staging.display())))?;
    Ok(staging)
}

/// Moves a complete directory from `staging` (made by [`create_staging_dir`]) to `to`: a rename
/// of the directory when `to` does not exist, otherwise file by file with `CURRENT` last; then
/// syncs the directories, so that the result survives a power loss.
pub fn move_into_place(staging: &Path, to: &Path) -> Result<(), StoreError> {
    let fail = |e: std::io::Error| StoreError::Io(format!("moving into {}: {e}", to.display()));
    if staging.parent() == Some(to) {
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(staging)
            .map_err(fail)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(fail)?;
        names.sort_by_key(|n| n == "CURRENT");
        for name in names {
            std::fs::rename(staging.join(&name), to.join(&name)).map_err(fail)?;
        }
        std::fs::remove_dir(staging).map_err(fail)?;
    } else {
        std::fs::rename(staging, to).map_err(fail)?;
    }
    std::fs::File::open(to)
        .and_then(|d| d.sync_all())
        .map_err(fail)?;
    match to.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(fail),
        None => Ok(()),
    }
}

fn nanos_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
