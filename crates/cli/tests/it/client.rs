//! The client commands against a real server process: login from the demo
//! credentials, queries, reports, executions with --wait, download with
//! SHA-256 verification, token renewal, and the exit codes.

use std::process::{Command, Output};

use serde_json::Value;

use crate::serve::serve;

struct Cli {
    config: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_openinsights"))
            .args(args)
            .env("OPENINSIGHTS_CONFIG_DIR", self.config.path())
            .env_remove("OPENINSIGHTS_PROFILE")
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stdout)))
    }
}

#[test]
fn client_commands_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = serve(&data, &dir.path().join("server.log"));
    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
    };
    let creds = data.join("demo-credentials.json");

    let login = cli.json(&["login", "--credentials", creds.to_str().unwrap(), "--json"]);
    assert_eq!(login["profile"], "default");
    assert_eq!(login["baseUrl"], s.url.as_str());
    let profiles = cli.config.path().join("profiles.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&profiles).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let remote = cli.json(&["datasets", "--remote", "--json"]);
    assert_eq!(remote.as_array().unwrap().len(), 23);
    let one = cli.json(&["datasets", "--remote", "--json", "officeusage"]);
    assert_eq!(one[0]["datasetName"], "OfficeUsage");
    assert!(one[0]["selectableColumns"].as_array().unwrap().len() > 5);
    assert_eq!(
        cli.run(&["datasets", "--remote", "Nope"]).status.code(),
        Some(4)
    );

    let text = "SELECT CustomerName, TotalMonthlyActiveUsers FROM OfficeUsage ORDER BY TotalMonthlyActiveUsers LIMIT 5 TIMESPAN LAST_6_MONTHS";
    let created = cli.json(&["query", "create", "--name", "Top five", "--json", text]);
    let qid = created[0]["queryId"].as_str().unwrap().to_string();
    assert_eq!(created[0]["type"], "userDefined");
    assert_eq!(created[0]["query"], text);
    let mine = cli.json(&["query", "list", "--mine", "--json"]);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(
        cli.json(&["query", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        21
    );
    let rows = cli.json(&["query", "test", "--id", &qid, "--json"]);
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert!(rows[0]["TotalMonthlyActiveUsers"].is_number());
    let table = cli.run(&["query", "test", text]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("CustomerName"));

    let report = cli.json(&[
        "report",
        "create",
        "--name",
        "Now",
        "--query-id",
        &qid,
        "--execute-now",
        "--json",
    ]);
    let rid = report[0]["reportId"].as_str().unwrap().to_string();
    assert_eq!(report[0]["executeNow"], true);
    let done = cli.json(&["executions", &rid, "--wait", "--json"]);
    assert_eq!(done[0]["executionStatus"], "Completed");
    let out = dir.path().join("top.csv");
    let dl = cli.json(&["download", &rid, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(dl["sha256"], done[0]["sha256"]);
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(file.starts_with("CustomerName,TotalMonthlyActiveUsers\r\n"));
    assert_eq!(file.lines().count(), 6);
    assert_eq!(
        cli.json(&["report", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // An expired cached token is renewed transparently.
    let mut p: Value = serde_json::from_slice(&std::fs::read(&profiles).unwrap()).unwrap();
    let old = p["default"]["access_token"].as_str().unwrap().to_string();
    p["default"]["expires_on"] = 0.into();
    std::fs::write(&profiles, serde_json::to_vec(&p).unwrap()).unwrap();
    assert_eq!(
        cli.json(&["report", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let p: Value = serde_json::from_slice(&std::fs::read(&profiles).unwrap()).unwrap();
    // Renewed: a real expiry again (the token itself may be byte-identical
    // when issued within the same second: RS256 signatures are deterministic).
    assert!(p["default"]["expires_on"].as_i64().unwrap() > chrono::Utc::now().timestamp());
    assert!(!old.is_empty());

    // Exit codes scripts can rely on.
    let bad = cli.run(&["query", "test", "SELECT Nope FROM OfficeUsage"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Unknown column 'Nope'"));
    let missing = cli.run(&["executions", "00000000-0000-0000-0000-000000000000"]);
    assert_eq!(missing.status.code(), Some(4));
    let nobody = cli.run(&["report", "list", "--profile", "nobody"]);
    assert_eq!(
        nobody.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&nobody.stderr)
    );
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("openinsights login"));

    assert_eq!(
        cli.json(&["report", "delete", &rid, "--json"])[0]["reportId"],
        rid.as_str()
    );
    assert_eq!(
        cli.json(&["query", "delete", &qid, "--json"])[0]["queryId"],
        qid.as_str()
    );
    let _ = s.child.kill();
    let _ = s.child.wait();
}

#[test]
fn demo_runs_the_walkthrough_on_its_own_server() {
    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
    };
    let o = cli.run(&["demo"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for step in 1..=7 {
        assert!(
            out.contains(&format!("== {step}. ")),
            "step {step} missing:\n{out}"
        );
    }
    assert!(out.contains("$ curl -s -X POST http://127.0.0.1:"), "{out}");
    assert!(out.contains("23 datasets"), "{out}");
    assert!(out.contains("Completed: 10 rows"), "{out}");
    assert!(
        out.contains("CustomerName,TotalMonthlyActiveUsers"),
        "{out}"
    );
}

#[test]
fn store_command_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _s = serve(&data, &dir.path().join("server.log"));
    let cli = Cli {
        config: tempfile::tempdir().unwrap(),
    };
    let creds = data.join("demo-credentials.json");
    let ids: Value = serde_json::from_slice(&std::fs::read(&creds).unwrap()).unwrap();
    let app = ids["storeApplicationIds"][0].as_str().unwrap().to_string();

    // An Insights profile is refused with what to do.
    cli.json(&["login", "--credentials", creds.to_str().unwrap(), "--json"]);
    let o = cli.run(&["store", "installs", "--application-id", &app]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("openinsights login --api store"));

    cli.json(&[
        "login",
        "--credentials",
        creds.to_str().unwrap(),
        "--api",
        "store",
        "--profile",
        "store",
        "--json",
    ]);
    let start = (chrono::Utc::now() - chrono::Duration::days(40))
        .format("%Y-%m-%d")
        .to_string();
    let rows = cli.json(&[
        "store",
        "appacquisitions",
        "--profile",
        "store",
        "--json",
        "--application-id",
        &app,
        "--start-date",
        &start,
        "--groupby",
        "date,market",
        "--aggregation-level",
        "week",
        "--filter",
        "market eq 'US' or market eq 'DE'",
        "--orderby",
        "date desc",
    ]);
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert_eq!(r["applicationId"], app.as_str());
        assert!(r["market"] == "US" || r["market"] == "DE", "{r}");
        assert!(r["acquisitionQuantity"].as_i64().unwrap() > 0);
        assert!(r["date"].as_str().unwrap().len() == 10);
    }
    // --all follows @nextLink: the same rows as one big page.
    let paged = cli.json(&[
        "store",
        "installs",
        "--profile",
        "store",
        "--json",
        "--application-id",
        &app,
        "--start-date",
        &start,
        "--groupby",
        "date",
        "--top",
        "7",
        "--all",
    ]);
    let whole = cli.json(&[
        "store",
        "installs",
        "--profile",
        "store",
        "--json",
        "--application-id",
        &app,
        "--start-date",
        &start,
        "--groupby",
        "date",
    ]);
    assert!(paged.as_array().unwrap().len() > 7);
    assert_eq!(paged, whole);
    // A table by default.
    let o = cli.run(&[
        "store",
        "ratings",
        "--profile",
        "store",
        "--application-id",
        &app,
        "--start-date",
        &start,
        "--groupby",
        "market",
    ]);
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("fiveStars") && table.contains("market"),
        "{table}"
    );
    // Bad parameters: exit 2 with the server's messages.
    let o = cli.run(&[
        "store",
        "installs",
        "--profile",
        "store",
        "--application-id",
        &app,
        "--top",
        "10001",
        "--aggregation-level",
        "year",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("top parameter cannot be more than 10000")
            && err.contains("aggregationLevel must be one of day, week, month"),
        "{err}"
    );
    // Unknown app: exit 4.
    let o = cli.run(&[
        "store",
        "installs",
        "--profile",
        "store",
        "--application-id",
        "9XXXXXXXXXXX",
    ]);
    assert_eq!(o.status.code(), Some(4));
    // A failure's CAB, end to end: hits -> details -> cabdownload to a file.
    let hits = cli.json(&[
        "store",
        "failurehits",
        "--profile",
        "store",
        "--json",
        "--application-id",
        &app,
        "--start-date",
        &start,
        "--groupby",
        "failureHash",
    ]);
    let hash = hits[0]["failureHash"].as_str().unwrap().to_string();
    let details = cli.json(&[
        "store",
        "failuredetails",
        "--profile",
        "store",
        "--json",
        "--application-id",
        &app,
        "--param",
        &format!("failureHash={hash}"),
    ]);
    let cab = details[0]["cabId"].as_str().unwrap().to_string();
    let frames = cli.json(&[
        "store",
        "stacktrace",
        "--profile",
        "store",
        "--json",
        "--param",
        &format!("cabId={cab}"),
    ]);
    assert_eq!(frames[0]["level"], "0");
    let file = dir.path().join("report.cab");
    let o = cli.run(&[
        "store",
        "cabdownload",
        "--profile",
        "store",
        "--param",
        &format!("cabId={cab}"),
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&std::fs::read(&file).unwrap()[..4], b"MSCF");
}
