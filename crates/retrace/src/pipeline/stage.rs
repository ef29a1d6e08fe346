//! The one helper that runs a stage: announces it to the progress receiver (when the stage's
//! work can be counted up front), times it and records the time under the stage's name.

use crate::progress::Progress;
use std::time::Instant;

/// Runs the stages of one scan in turn and keeps their timings.
pub(crate) struct Stages<'p> {
    progress: &'p dyn Progress,
    /// `(stage, seconds)`, in the order they ran.
    pub timings: Vec<(String, f64)>,
}

impl<'p> Stages<'p> {
    pub fn new(progress: &'p dyn Progress) -> Self {
        Stages {
            progress,
            timings: Vec::new(),
        }
    }

    /// Run stage `name`. With `units`, a progress bar of that many units is started before
    /// and finished after (the stage advances it); without, the stage starts its own bars.
    pub fn run<T>(
        &mut self,
        name: &'static str,
        units: Option<usize>,
        f: impl FnOnce(&'p dyn Progress) -> T,
    ) -> T {
        let t = Instant::now();
        if let Some(n) = units {
            self.progress.start(name, n as u64);
        }
        let out = f(self.progress);
        if units.is_some() {
            self.progress.finish();
        }
        self.timings
            .push((name.to_string(), t.elapsed().as_secs_f64()));
        out
    }
}
