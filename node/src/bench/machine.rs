//! Facts about the machine a benchmark ran on, and per-process CPU and memory from /proc.

use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use std::time::{Duration, Instant};
use votegraph_consensus::strict_signature::{self, SignedMessage};

#[derive(Clone, Debug, Serialize)]
pub struct MachineInfo {
    pub cores: usize,
    pub cpu_model: String,
    /// Strict ed25519 verifications per second on one core, measured at start.
    pub ed25519_verifications_per_s_per_core: f64,
}

pub fn describe() -> MachineInfo {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    MachineInfo {
        cores,
        cpu_model,
        ed25519_verifications_per_s_per_core: verification_rate(Duration::from_millis(700)),
    }
}

/// Strict single-signature verifications per second on this thread.
pub fn verification_rate(budget: Duration) -> f64 {
    let key = SigningKey::from_bytes(&[42; 32]);
    let public = key.verifying_key();
    let message = [7u8; 300];
    let signature = key.sign(&message).to_bytes();
    let signed = SignedMessage {
        key: &public,
        message: &message,
        signature: &signature,
    };
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            assert!(
                strict_signature::verify(&signed),
                "a fresh signature verifies"
            );
        }
        count += 64;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

/// CPU time (user + system) of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_s())
}

fn clock_ticks_per_s() -> f64 {
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    100.0
}

/// (resident, peak resident) memory of a process, in MiB.
pub fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        assert!(super::cpu_seconds(pid).is_some());
        let (rss, peak) = super::memory_mib(pid).unwrap();
        assert!(rss > 0.0 && peak >= rss);
    }
}
