//! The benchmark's figures: computed from the load generator's raw samples, printed as a
//! table, saved as JSON, and drawn as an SVG (throughput and latency over time).

use super::load::LoadResult;
use super::machine::MachineInfo;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct BenchSettings {
    pub validators: usize,
    pub rate_per_s: u64,
    pub duration_s: u64,
    pub warmup_s: u64,
    pub wan: String,
    /// What the transactions are: `opaque` payloads or `ballots` of an open election.
    pub workload: String,
    /// The ballots' election: its id and how many contests it has (`ballots` only).
    pub election: Option<String>,
    /// Payload bytes per transaction (for ballots, their mean size).
    pub payload_bytes: usize,
    pub fsync: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct NodeUsage {
    pub member: usize,
    /// Average CPU over the measured run, in percent of one core.
    pub cpu_percent: f64,
    pub rss_mib: f64,
    pub rss_mib_peak: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Second {
    pub second: u64,
    pub submitted: u64,
    pub finalized: u64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub machine: MachineInfo,
    pub settings: BenchSettings,
    pub submitted: u64,
    pub accepted: u64,
    pub refused_pool_full: u64,
    pub refused_other: u64,
    /// Accepted transactions seen final by the end of the drain.
    pub finalized: u64,
    /// How many of those governance rejected: every one for opaque payloads, none for valid
    /// ballots.
    pub rejected_by_governance: u64,
    /// Transactions finalized per second after the warmup, until the load stopped.
    pub finalized_per_s: f64,
    /// Set when the finality watch ended early: the figures are then incomplete.
    pub watch_error: Option<String>,
    /// Submit → final, for transactions submitted after the warmup, in milliseconds.
    pub latency_ms: Percentiles,
    /// Rate at which signature verification alone saturates the machine: every validator
    /// verifies every transaction once.
    pub verification_ceiling_tx_per_s: f64,
    pub nodes: Vec<NodeUsage>,
    pub agreement: String,
    pub timeline: Vec<Second>,
}

/// Figures from raw samples.
pub struct Figures {
    pub finalized: u64,
    pub finalized_per_s: f64,
    pub latency_ms: Percentiles,
    pub timeline: Vec<Second>,
}

pub fn figures(result: &LoadResult, settings: &BenchSettings) -> Figures {
    let since = |at: Instant| at.duration_since(result.started).as_secs_f64();
    let submitted_at: HashMap<_, _> = result.submitted.iter().map(|(at, id)| (*id, *at)).collect();
    let warmup = settings.warmup_s as f64;
    let end = settings.duration_s as f64;
    let mut latencies = Vec::new();
    let mut in_window = 0u64;
    let seconds = settings.duration_s as usize + 1;
    let mut per_second: Vec<Vec<f64>> = vec![Vec::new(); seconds];
    let mut submitted_per_second = vec![0u64; seconds];
    for (at, _) in &result.submitted {
        let s = (since(*at) as usize).min(seconds - 1);
        submitted_per_second[s] += 1;
    }
    for (final_at, id) in &result.finalized {
        let Some(sent_at) = submitted_at.get(id) else {
            continue;
        };
        let latency_ms = final_at.duration_since(*sent_at).as_secs_f64() * 1000.0;
        let t = since(*final_at);
        if since(*sent_at) >= warmup {
            latencies.push(latency_ms);
        }
        if t >= warmup && t < end {
            in_window += 1;
        }
        if (t as usize) < seconds {
            per_second[t as usize].push(latency_ms);
        }
    }
    let timeline = per_second
        .into_iter()
        .enumerate()
        .map(|(second, mut l)| {
            let p = percentiles(&mut l);
            Second {
                second: second as u64,
                submitted: submitted_per_second[second],
                finalized: l.len() as u64,
                latency_ms_p50: p.p50,
                latency_ms_p99: p.p99,
            }
        })
        .collect();
    Figures {
        finalized: result.finalized.len() as u64,
        finalized_per_s: in_window as f64 / (end - warmup).max(1.0),
        latency_ms: percentiles(&mut latencies),
        timeline,
    }
}

/// Nearest-rank percentiles; all zero for no samples.
pub fn percentiles(samples: &mut [f64]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        samples[i.clamp(1, samples.len()) - 1]
    };
    Percentiles {
        p50: rank(50.0),
        p95: rank(95.0),
        p99: rank(99.0),
        max: samples[samples.len() - 1],
    }
}

pub fn render_table(r: &BenchReport) -> String {
    let s = &r.settings;
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<34} {v}\n"));
    line(
        "machine",
        format!("{} cores, {}", r.machine.cores, r.machine.cpu_model),
    );
    line(
        "ed25519 strict verify (one core)",
        format!("{:.0}/s", r.machine.ed25519_verifications_per_s_per_core),
    );
    line(
        "cluster",
        format!(
            "{} validators, wan {}, fsync {}",
            s.validators, s.wan, s.fsync
        ),
    );
    let election = s
        .election
        .as_ref()
        .map_or(String::new(), |e| format!(" of {e}"));
    line(
        "workload",
        format!("{}{election}, payload {} B", s.workload, s.payload_bytes),
    );
    line(
        "offered load",
        format!(
            "{} tx/s for {} s (first {} s warmup)",
            s.rate_per_s, s.duration_s, s.warmup_s
        ),
    );
    line(
        "submitted / accepted",
        format!("{} / {}", r.submitted, r.accepted),
    );
    line(
        "refused: pool full / other",
        format!("{} / {}", r.refused_pool_full, r.refused_other),
    );
    line("finalized", format!("{}", r.finalized));
    line(
        "of which rejected by governance",
        format!("{}", r.rejected_by_governance),
    );
    if let Some(e) = &r.watch_error {
        line(
            "finality watch ended early",
            format!("{e} (figures incomplete)"),
        );
    }
    line(
        "finalized tx/s (after warmup)",
        format!("{:.0}", r.finalized_per_s),
    );
    let l = &r.latency_ms;
    line(
        "finality ms p50 / p95 / p99 / max",
        format!("{:.0} / {:.0} / {:.0} / {:.0}", l.p50, l.p95, l.p99, l.max),
    );
    line(
        "verification ceiling",
        format!(
            "{:.0} tx/s ({:.0}% of it reached)",
            r.verification_ceiling_tx_per_s,
            100.0 * r.finalized_per_s / r.verification_ceiling_tx_per_s.max(1.0)
        ),
    );
    for n in &r.nodes {
        line(
            &format!("validator {}", n.member),
            format!(
                "cpu {:.0}%  rss {:.0} MiB  peak {:.0} MiB",
                n.cpu_percent, n.rss_mib, n.rss_mib_peak
            ),
        );
    }
    line("agreement", r.agreement.clone());
    out
}

/// Two stacked panels: finalized and submitted transactions per second, and latency p50/p99.
pub fn render_svg(r: &BenchReport) -> String {
    let (width, panel, margin) = (800.0, 220.0, 50.0);
    let height = 2.0 * panel + 3.0 * margin;
    let seconds = r.timeline.len().max(2) as f64 - 1.0;
    let x = |s: f64| margin + s / seconds * (width - 2.0 * margin);
    let max_tps = r
        .timeline
        .iter()
        .map(|t| t.submitted.max(t.finalized) as f64)
        .fold(1.0, f64::max);
    let max_ms = r
        .timeline
        .iter()
        .map(|t| t.latency_ms_p99)
        .fold(1.0, f64::max);
    let line = |values: Vec<f64>, max: f64, top: f64, color: &str| {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(s, v)| format!("{:.1},{:.1}", x(s as f64), top + panel - v / max * panel))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            points.join(" ")
        )
    };
    let top1 = margin;
    let top2 = 2.0 * margin + panel;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (top, title, max) in [
        (
            top1,
            format!(
                "transactions per second (max {max_tps:.0}): finalized (blue), submitted (grey)"
            ),
            max_tps,
        ),
        (
            top2,
            format!("finality latency ms (max {max_ms:.0}): p50 (green), p99 (red)"),
            max_ms,
        ),
    ] {
        let _ = max;
        svg += &format!(
            "<rect x=\"{margin}\" y=\"{top}\" width=\"{}\" height=\"{panel}\" fill=\"none\" stroke=\"#ccc\"/>\n<text x=\"{margin}\" y=\"{}\">{title}</text>\n",
            width - 2.0 * margin,
            top - 8.0
        );
    }
    svg += &line(
        r.timeline.iter().map(|t| t.submitted as f64).collect(),
        max_tps,
        top1,
        "#999",
    );
    svg += &line(
        r.timeline.iter().map(|t| t.finalized as f64).collect(),
        max_tps,
        top1,
        "#1f77b4",
    );
    svg += &line(
        r.timeline.iter().map(|t| t.latency_ms_p50).collect(),
        max_ms,
        top2,
        "#2ca02c",
    );
    svg += &line(
        r.timeline.iter().map(|t| t.latency_ms_p99).collect(),
        max_ms,
        top2,
        "#d62728",
    );
    svg += &format!(
        "<text x=\"{margin}\" y=\"{}\">seconds since start ({} validators, {} tx/s offered, wan {})</text>\n</svg>\n",
        height - 12.0,
        r.settings.validators,
        r.settings.rate_per_s,
        r.settings.wan
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = percentiles(&mut samples);
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(percentiles(&mut []).p99, 0.0);
        let mut one = [7.0];
        assert_eq!(percentiles(&mut one).p50, 7.0);
    }
}
