//! A progress bar for the long step of `audit verify`: transaction signatures and the
//! governance replay, counted as they happen and drawn on stderr four times a second.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const WIDTH: u64 = 30;
const REDRAW: Duration = Duration::from_millis(250);

/// Work done out of a known total; counting is cheap enough for every transaction.
#[derive(Default)]
pub struct Progress {
    done: AtomicU64,
    total: u64,
    finished: AtomicBool,
}

/// Draws the bar until dropped; then clears it.
pub struct Bar {
    progress: Arc<Progress>,
    drawer: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub fn new(total: u64) -> Arc<Self> {
        Arc::new(Progress {
            total,
            ..Progress::default()
        })
    }

    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// The bar's text: `[#####.....]  50% (1,000 of 2,000 checks)`.
    pub fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed).min(self.total);
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH);
        let percent = (done * 100).checked_div(self.total).unwrap_or(100);
        format!(
            "[{}{}] {percent:3}% ({done} of {} checks)",
            "#".repeat(filled as usize),
            ".".repeat((WIDTH - filled) as usize),
            self.total
        )
    }

    /// Starts drawing on stderr.
    pub fn draw(self: &Arc<Self>) -> Bar {
        let progress = Arc::clone(self);
        let drawer = std::thread::spawn(move || {
            while !progress.finished.load(Ordering::Relaxed) {
                eprint!("\r  {}", progress.line());
                let _ = std::io::stderr().flush();
                std::thread::sleep(REDRAW);
            }
        });
        Bar {
            progress: Arc::clone(self),
            drawer: Some(drawer),
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.progress.finished.store(true, Ordering::Relaxed);
        if let Some(drawer) = self.drawer.take() {
            let _ = drawer.join();
            eprintln!("\r  {}", self.progress.line());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_work_done_and_never_past_the_total() {
        let progress = Progress::new(200);
        assert!(progress
            .line()
            .starts_with("[..............................]   0%"));
        progress.add(100);
        assert!(progress
            .line()
            .contains("###############...............]  50% (100 of 200"));
        progress.add(500);
        assert!(progress.line().contains("] 100% (200 of 200 checks)"));
        assert!(
            Progress::new(0).line().contains("100%"),
            "nothing to do is done"
        );
    }
}
