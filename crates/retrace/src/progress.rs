//! Progress reporting hooks: the engine announces stages and advances counters; the CLI
//! draws progress bars, a service could stream events, tests use [`NoProgress`].

/// Receives progress events from long stages.
pub trait Progress: Sync {
    /// A stage begins with `total` units of work.
    fn start(&self, _stage: &str, _total: u64) {}
    /// `n` more units are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is finished.
    fn finish(&self) {}
}

/// Ignores every event.
pub struct NoProgress;

impl Progress for NoProgress {}
