//! Progress of the engine's stages on stderr: a bar when it is a terminal, else a line
//! every few seconds (stage, done/total, rate, ETA), so that logs of long runs show where
//! they are. `--quiet` silences both.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Time between two progress lines on a stderr that is not a terminal: 10 s, or
/// `RETRACE_PROGRESS_EVERY` seconds.
fn line_every() -> Duration {
    std::env::var("RETRACE_PROGRESS_EVERY")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}

pub struct Bars {
    state: Mutex<State>,
    quiet: bool,
    terminal: bool,
    every: Duration,
}

#[derive(Default)]
struct State {
    bar: Option<ProgressBar>,
    /// Without a terminal: the stage, its total, what is done, when it started and when
    /// the last line was written.
    stage: String,
    total: u64,
    done: u64,
    started: Option<Instant>,
    last: Option<Instant>,
}

impl Bars {
    pub fn new(quiet: bool) -> Self {
        Bars {
            state: Mutex::new(State::default()),
            quiet,
            terminal: std::io::stderr().is_terminal(),
            every: line_every(),
        }
    }
}

/// `8902.24` as `8,902`; below 10 with one decimal.
pub fn rate(per_s: f64) -> String {
    if !per_s.is_finite() || per_s < 0.0 {
        return "-".into();
    }
    if per_s < 10.0 {
        return format!("{per_s:.1}");
    }
    let digits = format!("{:.0}", per_s);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as `1h02m`, `3m05s` or `42s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

fn line(st: &State) -> String {
    let el = st.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let per_s = if el > 0.0 { st.done as f64 / el } else { 0.0 };
    let eta = if per_s > 0.0 && st.total >= st.done {
        clock(Duration::from_secs_f64((st.total - st.done) as f64 / per_s))
    } else {
        "?".into()
    };
    format!(
        "progress: {} {}/{} ({}/s, eta {eta})",
        st.stage,
        st.done,
        st.total,
        rate(per_s)
    )
}

impl Bars {
    /// Progress is written as lines (not quiet, no terminal).
    fn lines(&self) -> bool {
        !self.quiet && !self.terminal
    }
}

impl retrace::progress::Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        tracing::info!("stage {stage}: {total} to do");
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        *st = State {
            stage: stage.to_string(),
            total,
            started: Some(Instant::now()),
            last: Some(Instant::now()),
            ..State::default()
        };
        if self.quiet || !self.terminal {
            return;
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix:>12} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "per_sec",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}/s", rate(s.per_sec()));
            },
        )
        .progress_chars("=> ");
        pb.set_style(style);
        pb.set_prefix(stage.to_string());
        st.bar = Some(pb);
    }

    fn advance(&self, n: u64) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if let Some(pb) = st.bar.as_ref() {
            pb.inc(n);
            return;
        }
        st.done += n;
        if self.lines() && st.last.is_some_and(|t| t.elapsed() >= self.every) {
            eprintln!("{}", line(&st));
            st.last = Some(Instant::now());
        }
    }

    fn finish(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if let Some(pb) = st.bar.take() {
            pb.finish_and_clear();
        }
        if self.lines()
            && st.started.is_some()
            && st.last.is_some_and(|t| t.elapsed() >= self.every)
        {
            eprintln!("{}", line(&st));
        }
        if let Some(t) = st.started.take() {
            tracing::info!(
                "stage {} done in {:.2}s",
                st.stage,
                t.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_people_write_them() {
        assert_eq!(rate(8902.2411), "8,902");
        assert_eq!(rate(1234567.0), "1,234,567");
        assert_eq!(rate(512.4), "512");
        assert_eq!(rate(3.25), "3.2");
        assert_eq!(clock(Duration::from_secs(185)), "3m05s");
    }
}
