//! Browser tests' plumbing: a Playwright script under `web/tests/` run by node, which
//! drives Debian's Chromium and reports one JSON line on stdout; closing its stdin
//! (dropping the [`Script`]) lets it close the browser and quit.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::repo_root;

/// Fails with the set-up command when playwright-core or Chromium is missing.
pub fn require_browser() {
    let playwright = repo_root().join("web/node_modules/playwright-core");
    assert!(
        playwright.is_dir(),
        "playwright-core is missing: (cd web && npm ci) (scripts/test.sh does)"
    );
    let chromium = std::env::var("GALAXY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "no Chromium at {chromium}: apt-get install -y chromium (scripts/test.sh does)"
    );
}

/// A `web/tests/*.mjs` script running.
pub struct Script {
    child: Child,
    report: mpsc::Receiver<String>,
}

impl Script {
    /// Starts `web/tests/{name}` with `args`.
    pub fn start(name: &str, args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg(repo_root().join("web/tests").join(name))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts (apt-get install -y nodejs)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, report) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Self { child, report }
    }

    /// Waits up to `timeout` for the report line, calling `meanwhile` every 50 ms
    /// (to keep bots' links alive); fails with `context` if none comes.
    pub fn report(
        &self,
        timeout: Duration,
        mut meanwhile: impl FnMut(),
        context: impl Fn() -> String,
    ) -> serde_json::Value {
        let started = Instant::now();
        let line = loop {
            meanwhile();
            match self.report.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("the browser script ended without a report\n{}", context())
                }
            }
            assert!(
                started.elapsed() < timeout,
                "no report from the browser within {timeout:?}\n{}",
                context()
            );
        };
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the report is not JSON ({e}): {line}"))
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
