//! A one-line progress bar on stderr for long runs (sampling, evaluations).

use std::io::Write;
use std::time::Instant;

/// Redraws `label [#####.....] done/total  elapsed` on one stderr line.
pub struct Bar {
    label: String,
    total: usize,
    start: Instant,
}

impl Bar {
    /// A bar of `total` units.
    pub fn new(label: impl Into<String>, total: usize) -> Self {
        Bar { label: label.into(), total: total.max(1), start: Instant::now() }
    }

    /// Shows `done` units finished (a newline after the last).
    pub fn set(&self, done: usize) {
        const WIDTH: usize = 30;
        let filled = WIDTH * done.min(self.total) / self.total;
        let bar: String = "#".repeat(filled) + &".".repeat(WIDTH - filled);
        let secs = self.start.elapsed().as_secs_f64();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{} [{bar}] {done}/{} {secs:.1} s", self.label, self.total);
        if done >= self.total {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
