//! The client commands an election operator types, run as the `votegraph` binary against a
//! real cluster: create from the bundled ElectionGuard manifest, generate and load a roll,
//! open, cast an ElectionGuard plaintext ballot and a `--choice` ballot, close, publish, and
//! export the tally.

use std::path::{Path, PathBuf};
use std::process::Command;
use votegraph_node::bench::cluster::{Cluster, ClusterSpec};

const ELECTION: &str = "franklin-county-general-march2020";
const STYLE: &str = "franklin-county-no-schooldistrict";

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/electionguard-small")
}

struct Cli {
    net: PathBuf,
    gateway: String,
}

impl Cli {
    /// Runs `votegraph args.. --gateway G --genesis net/genesis.toml`; (success, stdout+stderr).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_votegraph"))
            .args(args)
            .args(["--gateway", &self.gateway, "--genesis"])
            .arg(self.net.join("genesis.toml"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (success, text) = self.run(args);
        assert!(success, "votegraph {}: {text}", args.join(" "));
        text
    }

    fn admin(&self, args: &[&str]) -> String {
        let keys = [self.net.join("admin-1.key"), self.net.join("admin-2.key")];
        let mut all: Vec<&str> = args.to_vec();
        for key in &keys {
            all.extend(["--admin-key", key.to_str().unwrap()]);
        }
        self.ok(&all)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_runs_an_election_with_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let exe = Path::new(env!("CARGO_BIN_EXE_votegraph"));
    let spec = ClusterSpec {
        checkpoint_interval_rounds: 20,
        ..ClusterSpec::lan(4)
    };
    let cluster = Cluster::launch(exe, &net, &spec, Vec::new()).await.unwrap();
    let cli = Cli {
        net: net.clone(),
        gateway: cluster.addresses[0].clone(),
    };
    let manifest = samples().join("manifest.json");
    let created = cli.admin(&[
        "election",
        "create",
        "--definition",
        manifest.to_str().unwrap(),
    ]);
    assert!(created.contains("executed"), "{created}");
    let roll = dir.path().join("roll.csv");
    let keys = dir.path().join("voters.keys");
    let styles = format!("{STYLE},franklin-county-ozark-schools");
    cli.ok(&[
        "roll",
        "generate",
        "--count",
        "40",
        "--styles",
        &styles,
        "--out",
        roll.to_str().unwrap(),
        "--keys-out",
        keys.to_str().unwrap(),
    ]);
    let loaded = cli.admin(&[
        "roll",
        "load",
        "--election",
        ELECTION,
        "--file",
        roll.to_str().unwrap(),
    ]);
    assert!(loaded.contains("40 voters loaded"), "{loaded}");
    cli.admin(&["election", "open", "--election", ELECTION]);
    // Voters 0 and 2 have the style without the school district.
    let secrets = std::fs::read_to_string(&keys).unwrap();
    let voter_key = |n: usize| {
        let path = dir.path().join(format!("voter-{n}.key"));
        let secret = secrets.lines().nth(n).unwrap().split(',').next().unwrap();
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        path
    };
    let (voter0, voter2) = (voter_key(0), voter_key(2));
    let plaintext = samples().join(
        "plaintext_ballots/plaintext_ballot_ballot-4b645088-73fc-11ec-b8bd-acde48001122.json",
    );
    let cast = cli.ok(&[
        "ballot",
        "cast",
        "--election",
        ELECTION,
        "--key",
        voter0.to_str().unwrap(),
        "--ballot",
        plaintext.to_str().unwrap(),
    ]);
    assert!(cast.contains("ballot counted"), "{cast}");
    let choice = [
        "--style",
        STYLE,
        "--choice",
        "congressional-race-01=john-hancock-selection",
    ];
    let mut args = vec![
        "ballot",
        "cast",
        "--election",
        ELECTION,
        "--key",
        voter2.to_str().unwrap(),
    ];
    args.extend(choice);
    cli.ok(&args);
    // A second ballot from the same voter is refused (first-counts), with the reason.
    let (success, again) = cli.run(&args);
    assert!(!success && again.contains("already_voted"), "{again}");
    cli.admin(&["election", "close", "--election", ELECTION]);
    cli.admin(&["election", "publish", "--election", ELECTION]);
    let tally_file = dir.path().join("tally.json");
    cli.ok(&[
        "tally",
        "--election",
        ELECTION,
        "--out",
        tally_file.to_str().unwrap(),
    ]);
    let tally: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tally_file).unwrap()).unwrap();
    let mayor = &tally["contests"]["congressional-race-01"]["selections"];
    assert_eq!(
        (
            mayor["benjamin-franklin-selection"].as_u64(),
            mayor["john-hancock-selection"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        tally["contests"]["referendum-pineapple"]["selections"]
            ["referendum-pineapple-affirmative-selection"],
        1
    );
    assert_eq!(tally["status"], "tallied");
    check_receipt_file(&cli, dir.path(), &cast);
    check_live_export_and_consistency(&cli, dir.path());
    check_live_backup(&cli, dir.path());
    let listed = cli.ok(&["election", "list"]);
    assert!(
        listed.contains(ELECTION) && listed.contains("tallied") && listed.contains("2 ballots"),
        "{listed}"
    );
}

/// A voter saves the receipt of the ballot cast with `cast_output` and checks it offline; a
/// changed receipt fails the check.
fn check_receipt_file(cli: &Cli, dir: &Path, cast_output: &str) {
    let tx = cast_output
        .split("tx ")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("no tx id in {cast_output}"));
    let file = dir.join("receipt.json");
    let path = file.to_str().unwrap();
    // The receipt carries its proof once a certificate covers the ballot (the close's
    // checkpoint is certified shortly after the close).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (saved, text) = cli.run(&["ballot", "receipt", "--tx", tx, "--out", path]);
        if saved {
            assert!(text.contains("receipt saved"), "{text}");
            break;
        }
        assert!(text.contains("no certified checkpoint covers"), "{text}");
        assert!(
            std::time::Instant::now() < deadline,
            "no certified receipt: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let genesis = cli.net.join("genesis.toml");
    let verify = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_votegraph"))
            .args(["audit", "verify-receipt", file, "--genesis"])
            .arg(&genesis)
            .output()
            .unwrap()
    };
    let checked = verify(path);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(said.contains("receipt OK") && said.contains(tx), "{said}");

    let text = std::fs::read_to_string(&file).unwrap();
    let tampered = text.replacen("\"index\": ", "\"index\": 1", 1);
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let refused = verify(bad.to_str().unwrap());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("receipt verification FAILED"));
}

/// An auditor exports the running cluster's ledger over a gateway and verifies it, and checks
/// that the latest certified order extends the first.
fn check_live_export_and_consistency(cli: &Cli, dir: &Path) {
    let genesis = cli.net.join("genesis.toml");
    let votegraph = |args: &[&str]| {
        let (ok, text) = votegraph(args);
        assert!(ok, "votegraph {}: {text}", args.join(" "));
        text
    };
    let file = dir.join("live.audit");
    let exported = votegraph(&[
        "audit",
        "export",
        "--gateway",
        &cli.gateway,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(exported.contains("exported"), "{exported}");
    let verified = votegraph(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
    ]);
    assert!(verified.contains("everything matches"), "{verified}");
    let index = verified
        .split("transactions 0..")
        .last()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .expect("the report lists a certificate");
    let consistent = votegraph(&[
        "audit",
        "consistency",
        "--gateway",
        &cli.gateway,
        "--genesis",
        genesis.to_str().unwrap(),
        "--from",
        "0",
        "--to",
        &(index - 1).to_string(),
    ]);
    assert!(consistent.starts_with("consistent"), "{consistent}");
}

/// An operator backs up a running validator over its gateway (a RocksDB checkpoint the
/// validator takes): the backup verifies, and is a whole ledger that exports and audits; a
/// second backup into the same directory is refused.
fn check_live_backup(cli: &Cli, dir: &Path) {
    let create =
        |out: &str| votegraph(&["backup", "create", "--gateway", &cli.gateway, "--out", out]);
    let backup = dir.join("live-backup");
    let backup = backup.to_str().unwrap();
    let (ok, created) = create(backup);
    assert!(ok && created.contains("received a checkpoint"), "{created}");
    let (ok, verified) = votegraph(&["backup", "verify", backup]);
    assert!(ok && verified.contains("ledger verified"), "{verified}");
    let audit = dir.join("from-backup.audit");
    let audit = audit.to_str().unwrap();
    let (ok, exported) = votegraph(&["audit", "export", "--data", backup, "--out", audit]);
    assert!(ok, "{exported}");
    let genesis = cli.net.join("genesis.toml");
    let (ok, audited) = votegraph(&[
        "audit",
        "verify",
        audit,
        "--genesis",
        genesis.to_str().unwrap(),
    ]);
    assert!(ok && audited.contains("everything matches"), "{audited}");
    let prepared = dir.join("prepared-backup");
    std::fs::create_dir(&prepared).unwrap();
    let (ok, into_prepared) = create(prepared.to_str().unwrap());
    assert!(ok, "{into_prepared}");
    assert!(prepared.join("CURRENT").exists());
    let leftovers = std::fs::read_dir(&prepared)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(leftovers, 0, "the staging directory was removed");
    let (ok, again) = create(backup);
    assert!(!ok && again.contains("not empty"), "{again}");
}

/// Runs `votegraph` with `args`: whether it succeeded, and its stdout then stderr.
fn votegraph(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_votegraph"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}
