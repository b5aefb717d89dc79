//! Resident memory of a process, from `/proc/<pid>/status` (VmRSS; VmHWM is the peak
//! the kernel saw since the process started).

use std::{path::PathBuf, time::Duration};

use serde::Serialize;

use crate::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pid: u32,
    /// Sample for this many seconds (0: once), or until the process ends.
    #[arg(long, default_value_t = 0)]
    duration: u64,
    #[arg(long, default_value_t = 100)]
    interval_ms: u64,
    /// Written after every sample, so that stopping the sampler loses nothing.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize, Debug, Default, Clone)]
pub struct Rss {
    pub samples: u64,
    pub last_kb: u64,
    pub peak_kb: u64,
    /// VmHWM: the kernel's own peak resident set since the process started.
    pub hwm_kb: u64,
}

/// The value in kB of `field` (like `VmRSS`) in a `/proc/<pid>/status` text.
pub fn status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

pub async fn run(args: Args) -> Result<()> {
    let path = format!("/proc/{}/status", args.pid);
    let started = std::time::Instant::now();
    let mut rss = Rss::default();
    loop {
        let Ok(status) = std::fs::read_to_string(&path) else {
            if rss.samples == 0 {
                return Err(Error::msg(format!("no process {}", args.pid)));
            }
            break;
        };
        let now = status_kb(&status, "VmRSS").unwrap_or(0);
        rss.samples += 1;
        rss.last_kb = now;
        rss.peak_kb = rss.peak_kb.max(now);
        rss.hwm_kb = status_kb(&status, "VmHWM").unwrap_or(0);
        if let Some(out) = &args.out {
            std::fs::write(out, serde_json::to_vec_pretty(&rss)?)?;
        }
        if started.elapsed() >= Duration::from_secs(args.duration) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    if args.out.is_none() {
        println!("{}", serde_json::to_string_pretty(&rss)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vmrss() {
        let status = "Name:\tgerak\nVmHWM:\t   61234 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n";
        assert_eq!(status_kb(status, "VmRSS"), Some(40960));
        assert_eq!(status_kb(status, "VmHWM"), Some(61234));
        assert_eq!(status_kb(status, "VmSwap"), None);
    }
}
