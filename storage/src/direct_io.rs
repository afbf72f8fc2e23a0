//! Whether a directory's file system takes direct I/O. RocksDB writes flushed and compacted
//! files with `O_DIRECT` when asked to, and a file system that refuses it (tmpfs before Linux
//! 6.6, some network file systems) would fail the ledger's first flush, long after it opened.
//! Asking once at open, with a probe file, turns that into a choice made up front.

use std::path::Path;

const PROBE_NAME: &str = ".votegraph-direct-io-probe";

/// Whether a file in `dir` can be created for direct I/O. Leaves no file behind.
#[cfg(target_os = "linux")]
pub(crate) fn supported(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = dir.join(PROBE_NAME);
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe);
    let _ = std::fs::remove_file(&probe);
    opened.is_ok()
}

/// Direct I/O is used on Linux only.
#[cfg(not(target_os = "linux"))]
pub(crate) fn supported(_dir: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let _ = supported(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_that_does_not_exist_takes_no_direct_io() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!supported(&dir.path().join("missing")));
    }
}
