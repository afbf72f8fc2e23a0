//! `votegraph bench` run as the binary on a small load: the report it writes says what became
//! final and what governance made of it.

use serde_json::Value;
use std::process::Command;

/// The bundled 40-contest sample, in native form.
fn long_ballot() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/long-ballot.toml")
}

#[test]
fn a_ballots_bench_has_governance_apply_every_final_ballot_and_the_validators_agree() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(["bench", "--workload", "ballots", "--validators", "4"])
        .args([
            "--rate",
            "200",
            "--duration",
            "3",
            "--warmup",
            "1",
            "--manifest",
        ])
        .arg(long_ballot())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "votegraph bench failed:\n{text}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("bench.json")).unwrap()).unwrap();
    assert_eq!(report["settings"]["workload"], "ballots", "{text}");
    assert_eq!(
        report["settings"]["election"], "long-ballot-2026 (40 contests)",
        "{text}"
    );
    assert!(report["finalized"].as_u64().unwrap() > 0, "{text}");
    assert_eq!(report["rejected_by_governance"], 0, "{text}");
    let agreement = report["agreement"].as_str().unwrap();
    assert!(agreement.starts_with("all 4 validators"), "{text}");
}

#[test]
fn a_manifest_without_the_ballots_workload_is_refused_before_anything_starts() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(["bench", "--manifest"])
        .arg(long_ballot())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--manifest needs --workload ballots"),
        "{stderr}"
    );
    assert!(!out.path().join("cluster").exists(), "nothing was started");
}
