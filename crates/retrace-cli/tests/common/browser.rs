//! Headless Chromium for the browser tests: finding it, rendering a page, reading its DOM.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `chromium` or `chromium-browser` on PATH (or `$RETRACE_CHROMIUM`); under CI its
/// absence is a failure.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RETRACE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium (or chromium-browser) is not on PATH under CI");
    }
    eprintln!("NOTICE: chromium not found; skipping the browser test");
    None
}

/// The DOM Chromium prints for `url` after its scripts ran, and Chromium's stderr.
pub struct Page {
    pub what: String,
    pub dom: String,
    pub stderr: String,
}

/// Chromium's DOM of `url` after its scripts ran for `budget_ms` of virtual time (a
/// profile of its own in `dir`); a failure when it takes longer than `limit`.
pub fn render(
    chromium: &Path,
    dir: &Path,
    what: &str,
    url: &str,
    budget_ms: u32,
    limit: Duration,
) -> Page {
    std::fs::create_dir_all(dir).unwrap();
    let (out, err) = (dir.join("dom.html"), dir.join("stderr.txt"));
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", chromium.display()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: chromium did not finish within {limit:?}\nstderr:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let page = Page {
        what: what.to_string(),
        dom: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    };
    assert!(
        status.success() && page.dom.contains("</html>"),
        "{what}: chromium failed ({status}) on {url}\nstderr:\n{}",
        page.stderr
    );
    page
}

impl Page {
    /// The page's <main> (shortened), for failure messages.
    pub fn excerpt(&self) -> String {
        let main = match (self.dom.find("<main"), self.dom.find("</main>")) {
            (Some(a), Some(b)) if a < b => &self.dom[a..b + 7],
            _ => &self.dom[..],
        };
        let mut s: String = main.chars().take(6000).collect();
        if s.len() < main.len() {
            s.push_str(" [...]");
        }
        s
    }

    pub fn check(&self, ok: bool, msg: &str) {
        assert!(
            ok,
            "{}: {msg}\n--- DOM excerpt ---\n{}\n--- console ---\n{}",
            self.what,
            self.excerpt(),
            self.console().join("\n")
        );
    }

    pub fn has(&self, needle: &str, msg: &str) {
        self.check(self.dom.contains(needle), &format!("{msg} (no `{needle}`)"));
    }

    pub fn lacks(&self, needle: &str, msg: &str) {
        self.check(
            !self.dom.contains(needle),
            &format!("{msg} (found `{needle}`)"),
        );
    }

    pub fn count(&self, needle: &str) -> usize {
        self.dom.matches(needle).count()
    }

    /// Chromium's lines about the page's console and uncaught exceptions.
    pub fn console(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .collect()
    }

    /// The text of the first element whose start tag holds `attr` (up to its first child tag).
    pub fn text_of(&self, attr: &str) -> Option<String> {
        let at = self.dom.find(attr)?;
        let rest = &self.dom[at..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')? + start;
        Some(unescape(&rest[start..end]))
    }
}

/// Undo the escaping of a text node by Chromium's serialiser.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Percent-encoding of everything but the unreserved characters (as encodeURIComponent).
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// UTF-8 byte range `r` ([start, end]) of `text`.
pub fn bytes<'a>(text: &'a str, r: &Value) -> &'a str {
    let (a, b) = (
        r[0].as_u64().unwrap() as usize,
        r[1].as_u64().unwrap() as usize,
    );
    &text[a..b]
}
