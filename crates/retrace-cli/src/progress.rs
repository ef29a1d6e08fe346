//! Progress bars for the engine's stages (drawn on stderr only when it is a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Bars {
            bar: Mutex::new(None),
            quiet,
        }
    }
}

impl retrace::progress::Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        if self.quiet {
            return;
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(stage.to_string());
        if let Ok(mut g) = self.bar.lock() {
            *g = Some(pb);
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(g) = self.bar.lock() {
            if let Some(pb) = g.as_ref() {
                pb.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut g) = self.bar.lock() {
            if let Some(pb) = g.take() {
                pb.finish_and_clear();
            }
        }
    }
}
