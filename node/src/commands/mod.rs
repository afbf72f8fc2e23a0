pub mod audit;
pub mod backup;
mod backup_remote;
pub mod bench;
pub mod consensus;
pub mod demo;
pub mod governance;
pub mod node;

use std::process::ExitCode;

/// Runs a command body; an error is printed on one line and the exit code is 1.
pub fn report(body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
