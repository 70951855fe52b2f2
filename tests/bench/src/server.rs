//! The processes a run starts (Cardinal, node, haproxy): spawned with their output in a log
//! file, killed when dropped (also on error and on Ctrl-C), looked at through /proc.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};

/// Process ids of the children alive now, for the Ctrl-C handler.
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Kills every child still alive (the Ctrl-C handler calls it before exiting).
pub fn kill_all() {
    let pids: Vec<u32> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// A child process that dies with this value.
pub struct Proc {
    pub name: String,
    pub log: PathBuf,
    child: Child,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> anyhow::Result<Proc> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open the log {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {name} ({cmd:?}): is it installed?"))?;
        if let Ok(mut live) = LIVE.lock() {
            live.push(child.id());
        }
        Ok(Proc {
            name: name.to_string(),
            log: log.to_path_buf(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the end of the log when the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); the end of its log {}:\n{}",
                self.name,
                self.log.display(),
                log_tail(&self.log)
            );
        }
        Ok(())
    }

    /// (VmRSS, VmHWM) in KiB: resident memory now and at its peak.
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .with_context(|| format!("cannot read /proc for {}", self.name))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {name} in /proc/{}/status", self.pid()))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// CPU seconds (user + system) the process has used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("unreadable /proc/PID/stat")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name.
        let ticks = |i: usize| -> anyhow::Result<f64> {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .context("unreadable CPU time in /proc/PID/stat")
        };
        Ok((ticks(11)? + ticks(12)?) / clock_ticks())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let pid = self.child.id();
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|p| *p != pid);
        }
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The last lines of a log file.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    lines.get(start..).unwrap_or_default().join("\n")
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot bind a port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

/// Waits until `url` answers 200 (polling every 5 ms); returns how long that took from
/// `started`.
pub async fn wait_ready(
    proc: &mut Proc,
    url: &str,
    started: Instant,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return Ok(started.elapsed());
            }
        }
        proc.check_alive()?;
        if started.elapsed() > timeout {
            bail!(
                "{} did not answer 200 at {url} within {timeout:?}; its log {}:\n{}",
                proc.name,
                proc.log.display(),
                log_tail(&proc.log)
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One Cardinal process: its base URL and process.
pub struct Cardinal {
    pub url: String,
    pub proc: Proc,
    /// Time from spawn to `/readyz` answering 200.
    pub ready_after: Duration,
}

impl Cardinal {
    /// Starts `binary serve --config config` (no `CARDINAL_*` variables of ours leak in)
    /// listening on `port`, with `env` added, and waits for `/readyz`.
    pub async fn start(
        name: &str,
        binary: &Path,
        config: &Path,
        port: u16,
        env: &[(&str, &str)],
        log: &Path,
    ) -> anyhow::Result<Cardinal> {
        let mut cmd = Command::new(binary);
        cmd.arg("--config").arg(config).arg("serve");
        if let Some(dir) = config.parent() {
            cmd.current_dir(dir);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("CARDINAL_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut proc = Proc::spawn(name, cmd, log)?;
        let url = format!("http://127.0.0.1:{port}");
        let ready_after = wait_ready(
            &mut proc,
            &format!("{url}/readyz"),
            started,
            Duration::from_secs(60),
        )
        .await?;
        Ok(Cardinal {
            url,
            proc,
            ready_after,
        })
    }
}
