//! `votegraph bench` run as the binary on a small load: the report it writes says what became
//! final and what governance made of it.

use serde_json::Value;
use std::process::Command;

#[test]
fn a_ballots_bench_has_governance_apply_every_final_ballot_and_the_validators_agree() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(["bench", "--workload", "ballots", "--validators", "4"])
        .args(["--rate", "200", "--duration", "3", "--warmup", "1", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "votegraph bench failed:\n{text}");
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("bench.json")).unwrap()).unwrap();
    assert_eq!(report["settings"]["workload"], "ballots", "{text}");
    assert!(report["finalized"].as_u64().unwrap() > 0, "{text}");
    assert_eq!(report["rejected_by_governance"], 0, "{text}");
    let agreement = report["agreement"].as_str().unwrap();
    assert!(agreement.starts_with("all 4 validators"), "{text}");
}
