//! The tables: printed, and written into `docs/benchmarks.md` between markers (the rest of
//! that file, e.g. profiles, is kept).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

use crate::limits::Limits;
use crate::signin::SignIns;

/// One load level's result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stat {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Server CPU milliseconds per completed request (Cardinal only).
    pub cpu_ms: Option<f64>,
}

impl From<crate::wrk::Measured> for Stat {
    fn from(m: crate::wrk::Measured) -> Self {
        Stat {
            rate: m.rate,
            p50_ms: m.p50_ms,
            p99_ms: m.p99_ms,
            cpu_ms: None,
        }
    }
}

impl From<&SignIns> for Stat {
    /// Latencies are those of completed sign-ins: none (shown "—") when none completed.
    fn from(s: &SignIns) -> Self {
        let (p50_ms, p99_ms) = if s.completed == 0 {
            (f64::NAN, f64::NAN)
        } else {
            (s.p50_ms, s.p99_ms)
        };
        Stat {
            rate: s.rate,
            p50_ms,
            p99_ms,
            cpu_ms: None,
        }
    }
}

/// One row: a figure of Cardinal at each connection count (the peer's are in [`PeerFacts`]).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub key: &'static str,
    pub figure: String,
    /// (connections, result), in the order measured.
    pub cardinal: Vec<(u32, Stat)>,
    /// What the hardware allows for this request, per second (signatures or argon2id).
    pub limit: Option<f64>,
}

impl Row {
    pub fn new(key: &'static str, figure: &str) -> Row {
        Row {
            key,
            figure: figure.to_string(),
            ..Default::default()
        }
    }

    pub fn at(list: &[(u32, Stat)], conns: u32) -> Option<Stat> {
        list.iter().find(|(c, _)| *c == conns).map(|(_, s)| *s)
    }
}

/// Everything measured on one database.
#[derive(Debug, Clone, Default)]
pub struct BackendReport {
    pub name: String,
    pub rows: Vec<Row>,
    pub ready_ms: f64,
    pub rss_idle_mib: f64,
    pub rss_peak_mib: f64,
    pub notes: Vec<String>,
}

/// The peer's start and memory.
#[derive(Debug, Clone, Default)]
pub struct PeerFacts {
    pub version: String,
    pub ready_ms: f64,
    pub rss_idle_mib: f64,
    pub rss_peak_mib: f64,
    /// Figure key → results.
    pub rows: Vec<(&'static str, Vec<(u32, Stat)>)>,
    /// Why there is no peer column, when there is none.
    pub missing: Option<String>,
}

/// The comparisons on PostgreSQL: a million registrations, and two instances.
#[derive(Debug, Clone, Default)]
pub struct ScaleReport {
    pub registrations: usize,
    pub load_secs: f64,
    /// (figure, connections, small database, 1 M registrations).
    pub size: Vec<(String, u32, Stat, Stat)>,
    /// (figure, connections, one instance, two instances).
    pub instances: Vec<(String, u32, Stat, Stat)>,
    pub notes: Vec<String>,
}

pub struct Report {
    pub machine: String,
    pub command: String,
    pub connections: [u32; 2],
    pub duration_secs: u64,
    pub limits: Limits,
    pub backends: Vec<BackendReport>,
    pub peer: PeerFacts,
    pub scale: Option<ScaleReport>,
}

fn num(v: f64) -> String {
    if v >= 100.0 {
        let n = v.round() as u64;
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn ms(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(s: Option<Stat>, with_rate: bool) -> String {
    match s {
        None => "—".into(),
        Some(s) if with_rate => format!("{} · {} / {}", num(s.rate), ms(s.p50_ms), ms(s.p99_ms)),
        Some(s) => format!("{} / {}", ms(s.p50_ms), ms(s.p99_ms)),
    }
}

impl Report {
    fn peer_stat(&self, key: &str, conns: u32) -> Option<Stat> {
        self.peer
            .rows
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, list)| Row::at(list, conns))
    }

    fn backend_table(&self, b: &BackendReport, out: &mut String) {
        let [lo, hi] = self.connections;
        let _ = writeln!(out, "### Cardinal on {}\n", b.name);
        let _ = writeln!(
            out,
            "| figure | Cardinal /s (c{hi}) | peer /s (c{hi}) | Cardinal/peer | limit /s | % of limit | c{lo}: /s · p50 / p99 ms | c{hi}: p50 / p99 ms | CPU ms/req (c{hi}) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for row in &b.rows {
            let c = Row::at(&row.cardinal, hi);
            let p = self.peer_stat(row.key, hi);
            let ratio = match (c, p) {
                (Some(c), Some(p)) if p.rate > 0.0 => format!("{:.2}×", c.rate / p.rate),
                _ => "—".into(),
            };
            let (limit, pct) = match (row.limit, c) {
                (Some(l), Some(c)) if l > 0.0 => (num(l), format!("{:.0} %", 100.0 * c.rate / l)),
                (Some(l), None) => (num(l), "—".into()),
                _ => ("—".into(), "—".into()),
            };
            let peer = match (p, &self.peer.missing) {
                (Some(p), _) => num(p.rate),
                (None, Some(_)) if self.peer.rows.is_empty() => "n/a".into(),
                _ => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.figure,
                c.map(|s| num(s.rate)).unwrap_or_else(|| "—".into()),
                peer,
                ratio,
                limit,
                pct,
                cell(Row::at(&row.cardinal, lo), true),
                cell(c, false),
                c.and_then(|s| s.cpu_ms)
                    .map(ms)
                    .unwrap_or_else(|| "—".into()),
            );
        }
        let peer_mem = if self.peer.rows.is_empty() {
            ("n/a".to_string(), "n/a".to_string())
        } else {
            (
                format!(
                    "{:.0} / {:.0}",
                    self.peer.rss_idle_mib, self.peer.rss_peak_mib
                ),
                format!("{:.0}", self.peer.ready_ms),
            )
        };
        let _ = writeln!(
            out,
            "| RSS idle / peak, MiB | {:.0} / {:.0} | {} | | | | | | |",
            b.rss_idle_mib, b.rss_peak_mib, peer_mem.0
        );
        let _ = writeln!(
            out,
            "| start → ready, ms | {:.0} | {} | | | | | | |",
            b.ready_ms, peer_mem.1
        );
        out.push('\n');
        for n in &b.notes {
            let _ = writeln!(out, "- {n}");
        }
        if !b.notes.is_empty() {
            out.push('\n');
        }
    }

    fn limits_table(&self, out: &mut String) {
        let l = &self.limits;
        let _ = writeln!(out, "### Limits of this machine\n");
        let _ = writeln!(
            out,
            "| per second | 1 thread | {} threads (the server's workers) |",
            l.threads
        );
        let _ = writeln!(out, "|---|---:|---:|");
        for (name, r) in [
            ("RS256 signatures (josekit, RSA 2048)", l.rs256),
            ("ES256 signatures (josekit, P-256)", l.es256),
            ("EdDSA signatures (josekit, Ed25519)", l.eddsa),
            (
                "argon2id checks (default m=19456 KiB, t=2, p=1)",
                l.argon2id,
            ),
        ] {
            let _ = writeln!(out, "| {name} | {} | {} |", num(r.one), num(r.all));
        }
        out.push('\n');
    }

    fn scale_tables(s: &ScaleReport, out: &mut String) {
        let _ = writeln!(
            out,
            "### PostgreSQL with {} registrations\n\nBulk load: {:.0} s.\n",
            num(s.registrations as f64),
            s.load_secs
        );
        let _ = writeln!(
            out,
            "| figure | conns | small DB /s · p50 / p99 ms | {} registrations /s · p50 / p99 ms | p50 change |",
            num(s.registrations as f64)
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (f, c, small, big) in &s.size {
            let change = if small.p50_ms > 0.0 && big.p50_ms.is_finite() {
                format!("{:+.0} %", 100.0 * (big.p50_ms / small.p50_ms - 1.0))
            } else {
                "—".into()
            };
            let _ = writeln!(
                out,
                "| {f} | {c} | {} | {} | {change} |",
                cell(Some(*small), true),
                cell(Some(*big), true)
            );
        }
        let _ = writeln!(
            out,
            "\n### One and two instances behind haproxy (PostgreSQL)\n"
        );
        let _ = writeln!(
            out,
            "| figure | conns | one instance /s · p50 / p99 ms | two instances /s · p50 / p99 ms | two/one |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        for (f, c, one, two) in &s.instances {
            let ratio = if one.rate > 0.0 {
                format!("{:.2}×", two.rate / one.rate)
            } else {
                "—".into()
            };
            let _ = writeln!(
                out,
                "| {f} | {c} | {} | {} | {ratio} |",
                cell(Some(*one), true),
                cell(Some(*two), true)
            );
        }
        out.push('\n');
        for n in &s.notes {
            let _ = writeln!(out, "- {n}");
        }
        if !s.notes.is_empty() {
            out.push('\n');
        }
    }

    /// The markdown of the whole run.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Latest run\n\n{}\n", self.machine);
        let _ = writeln!(
            out,
            "Command: `{}` (wrk -t1, {} s per figure and connection count; Cardinal release build, default configuration and limits).\n",
            self.command, self.duration_secs
        );
        match &self.peer.missing {
            Some(why) => {
                let _ = writeln!(out, "Peer: not measured ({why}).\n");
            }
            None => {
                let _ = writeln!(
                    out,
                    "Peer: node-oidc-provider {} (npm `oidc-provider`, one Node process, in-memory adapter), measured in the same run.\n",
                    self.peer.version
                );
            }
        }
        for b in &self.backends {
            self.backend_table(b, &mut out);
        }
        self.limits_table(&mut out);
        if let Some(s) = &self.scale {
            Self::scale_tables(s, &mut out);
        }
        out
    }
}

pub const BEGIN: &str =
    "<!-- cardinal-bench:begin (written by `cargo run --release -p cardinal-bench`) -->";
pub const END: &str = "<!-- cardinal-bench:end -->";

const INTRO: &str = "# Benchmarks\n\n\
Cardinal side by side with node-oidc-provider, measured by `tests/bench` \
(`cargo run --release -p cardinal-bench`, see the README). The section between the markers \
below is rewritten by each run, unedited; what is outside them is kept.\n";

/// Replaces the marked section of `path` with `section` (or writes a new file).
pub fn write_doc(path: &Path, section: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{section}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if e > b => {
            let head = old.get(..b).unwrap_or_default();
            let tail = old.get(e + END.len()..).unwrap_or_default();
            format!("{head}{block}{tail}")
        }
        _ if old.trim().is_empty() => format!("{INTRO}\n{block}\n"),
        _ => format!("{}\n\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new).with_context(|| format!("cannot write {}", path.display()))
}

fn run_text(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Cores, CPU model, memory, kernel, rustc and the git commit.
pub fn machine(root: &Path, load_at_start: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or_default();
    let root = root.to_string_lossy();
    let commit = run_text("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
    let dirty = !run_text(
        "git",
        &["-C", &root, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_empty();
    format!(
        "Machine: {cores} cores ({model}), {mem_gib:.0} GiB memory, {}; {}; commit {commit}{}; load generator (wrk, the sign-in driver) on the same machine; load average at the start {load_at_start}, at the end {}.",
        run_text("uname", &["-sr"]),
        run_text("rustc", &["-V"]),
        if dirty { " with local changes" } else { "" },
        load_average()
    )
}

/// The 1, 5 and 15-minute load averages (other work on the machine shows there).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(num(22031.4), "22,031");
        assert_eq!(num(575.0), "575");
        assert_eq!(num(12.34), "12.3");
        assert_eq!(num(0.5), "0.50");
        assert_eq!(ms(f64::NAN), "—");
        assert_eq!(ms(2.345), "2.35");
    }

    #[test]
    fn the_marked_section_is_replaced_and_the_rest_kept() {
        let dir = std::env::temp_dir().join(format!("bench-doc-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("benchmarks.md");
        write_doc(&path, "first\n").unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n## Profile\nkept\n");
        std::fs::write(&path, text).unwrap();
        write_doc(&path, "second\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("second") && !text.contains("first"));
        assert!(text.contains("## Profile\nkept"));
        assert_eq!(text.matches(BEGIN).count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
