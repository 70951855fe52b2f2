//! HTTP load with wrk (Debian's `wrk`): one thread, N connections, `--latency`, a Lua
//! script per run. Only 2xx/3xx answers count as done; each script reports its totals
//! on one line that is parsed here.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context as _};

/// What the connections send.
pub enum Load<'a> {
    Get {
        path: &'a str,
        headers: Vec<(&'a str, String)>,
    },
    /// The same form body every time.
    Post {
        path: &'a str,
        headers: Vec<(&'a str, String)>,
        body: String,
    },
    /// One line of `bodies` per request (single-use credentials); the run stops early
    /// when they run out.
    PostEach {
        path: &'a str,
        headers: Vec<(&'a str, String)>,
        bodies: &'a [String],
    },
}

/// The outcome of one wrk run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    /// Answers 2xx/3xx per second.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub done: u64,
    /// Answers outside 2xx/3xx, and socket errors.
    pub failed: u64,
}

/// The Lua that reports a run's totals (read by [`parse`]).
const REPORT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f %.0f\n",
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;

fn lua_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn lua_headers(headers: &[(&str, String)]) -> String {
    let items: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("[{}] = {}", lua_string(k), lua_string(v)))
        .collect();
    format!("{{ {} }}", items.join(", "))
}

/// The script for `load`, and the argument to pass it (the bodies file).
fn script(load: &Load<'_>, dir: &Path, name: &str) -> anyhow::Result<(String, Option<String>)> {
    let form = (
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    );
    Ok(match load {
        Load::Get { path, headers } => (
            format!(
                "wrk.method = \"GET\"\nwrk.path = {}\nwrk.headers = {}\n{REPORT}",
                lua_string(path),
                lua_headers(headers)
            ),
            None,
        ),
        Load::Post {
            path,
            headers,
            body,
        } => {
            let mut h = headers.clone();
            h.push(form);
            (
                format!(
                    "wrk.method = \"POST\"\nwrk.path = {}\nwrk.headers = {}\nwrk.body = {}\n{REPORT}",
                    lua_string(path),
                    lua_headers(&h),
                    lua_string(body)
                ),
                None,
            )
        }
        Load::PostEach {
            path,
            headers,
            bodies,
        } => {
            let file = dir.join(format!("{name}.bodies"));
            std::fs::write(&file, bodies.join("\n") + "\n")?;
            let mut h = headers.clone();
            h.push(form);
            (
                format!(
                    r#"local bodies = {{}}
local i = 0
local headers = {headers}
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  i = i + 1
  local body = bodies[i]
  if body == nil then
    wrk.thread:stop()
    return wrk.format("GET", "/bench-ran-out-of-credentials")
  end
  return wrk.format("POST", {path}, headers, body)
end
{REPORT}"#,
                    headers = lua_headers(&h),
                    path = lua_string(path),
                ),
                Some(file.to_string_lossy().into_owned()),
            )
        }
    })
}

/// Runs wrk against `base` (e.g. `http://127.0.0.1:8080`) for `duration`.
pub fn run(
    base: &str,
    load: &Load<'_>,
    connections: u32,
    duration: Duration,
    dir: &Path,
    name: &str,
) -> anyhow::Result<Measured> {
    std::fs::create_dir_all(dir)?;
    let (lua, arg) = script(load, dir, name)?;
    let script_path = dir.join(format!("{name}.lua"));
    std::fs::write(&script_path, lua)?;
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", &format!("-c{connections}")])
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--timeout", "10s", "--latency", "-s"])
        .arg(&script_path)
        .arg(base);
    if let Some(a) = arg {
        cmd.arg("--").arg(a);
    }
    let out = cmd
        .output()
        .context("cannot run wrk: install it with `apt-get install -y wrk` (Debian package wrk)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}) on {name}: {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(dir.join(format!("{name}.out")), stdout.as_bytes())?;
    parse(&stdout).with_context(|| format!("unreadable wrk output for {name}:\n{stdout}"))
}

/// Reads the `BENCH requests duration_us non2xx socket_errors p50_us p99_us` line.
pub fn parse(stdout: &str) -> anyhow::Result<Measured> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .context("no BENCH line")?;
    let n: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse::<f64>())
        .collect::<Result<_, _>>()?;
    let [requests, duration_us, non2xx, errors, p50, p99] = n.as_slice() else {
        bail!("the BENCH line has {} numbers, not 6", n.len());
    };
    let secs = duration_us / 1e6;
    if secs <= 0.0 {
        bail!("wrk ran for no time");
    }
    let done = (requests - non2xx).max(0.0);
    Ok(Measured {
        rate: done / secs,
        p50_ms: p50 / 1000.0,
        p99_ms: p99 / 1000.0,
        done: done as u64,
        failed: (non2xx + errors) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_totals_line() {
        let m = parse("Running 3s test\nBENCH 3000 2000000 1000 2 1500 9000\nRequests/sec: 1\n")
            .unwrap();
        assert_eq!(m.done, 2000);
        assert_eq!(m.failed, 1002);
        assert!((m.rate - 1000.0).abs() < 1e-9);
        assert!((m.p50_ms - 1.5).abs() < 1e-9);
        assert!((m.p99_ms - 9.0).abs() < 1e-9);
    }

    #[test]
    fn refuses_output_without_totals() {
        assert!(parse("Running 3s test\n").is_err());
        assert!(parse("BENCH 1 2 3\n").is_err());
    }

    #[test]
    fn quotes_lua_strings() {
        assert_eq!(lua_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
