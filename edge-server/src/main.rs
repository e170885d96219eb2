//! The `footprint-edge` binary: flags in, server out.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use footprint_edge::config::{Config, Overrides};
use footprint_edge::server::{self, SinkKind};

// sled allocates per tree node and per write, and the ingest path per event: with glibc's
// malloc a quarter of the edge's CPU went to malloc and free under load (perf, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Footprint's ingestion edge: takes tracker batches, stores them durably, serves admins.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// TOML config file. Without one the server runs on the documented dev defaults.
    #[arg(long, env = "FOOTPRINT_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8787 (port 0 picks a free port). Overrides the file.
    #[arg(long, env = "FOOTPRINT_LISTEN", global = true)]
    listen: Option<String>,
    /// The sled store's directory. Overrides the file.
    #[arg(long, env = "FOOTPRINT_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// The tracker's build to serve under /sdk/v1/ (`cargo xtask sdk` writes sdk-wasm/pkg).
    /// Overrides the file.
    #[arg(long, env = "FOOTPRINT_SDK_DIR", global = true)]
    sdk_dir: Option<PathBuf>,
    /// How log lines are written to stderr: `text` for people, `json` (one object a line, the
    /// same fields) for log shippers.
    #[arg(long, env = "FOOTPRINT_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Benchmarks only: acknowledge events without storing them.
    #[arg(long, hide = true)]
    null_sink: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum ClvCommand {
    /// Fits BG/NBD and Gamma-Gamma to a CSV of customer summaries with the header
    /// `customer,frequency,recency,T,monetary_value` (repeat purchases, time of the last one,
    /// age, all in one unit such as weeks, and the mean value of the repeat purchases), and
    /// prints the parameters as one JSON object.
    Fit {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Import contacts from a CSV file straight into the store (stop the server first: the
    /// store has one owner). Columns as for POST /v1/contacts/import.
    Import {
        /// The CSV file, with a header row.
        file: PathBuf,
        /// The site to import into; needed when the config has several.
        #[arg(long)]
        site: Option<String>,
        /// The name history records the changes under.
        #[arg(long, default_value = "import-cli")]
        who: String,
        /// Skip columns that are not importable instead of refusing the file.
        #[arg(long)]
        ignore_unknown: bool,
    },
    /// Compact the store now (stop the server first), so that erased data leaves the disk.
    Compact,
    /// Back the store up into DIR (absent or empty), consistently, while the edge serves:
    /// through the running edge's API when it has the data directory, else directly.
    Backup {
        /// Where the backup goes; made absolute here.
        dir: PathBuf,
        /// An admin token, to ask a running edge (at the config's listen address).
        #[arg(long, env = "FOOTPRINT_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The running edge to ask, when it is not at the config's listen address.
        #[arg(long)]
        url: Option<String>,
    },
    /// Restore a backup into the data directory (stop the edge first).
    Restore {
        /// A directory `footprint-edge backup` wrote.
        dir: PathBuf,
        /// Replace the store the data directory holds; without it, only an empty one is
        /// restored into.
        #[arg(long)]
        replace: bool,
    },
    /// Customer-lifetime-value models.
    Clv {
        #[command(subcommand)]
        command: ClvCommand,
    },
    /// Benchmarks only: measure sled's raw batched-write rate with the edge's own records.
    #[command(hide = true)]
    SledCeiling {
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // Each event's fields at the top level, beside `timestamp`, `level`, `target` and
        // `message`, so a shipper indexes `status` and `latency_ms` as they are.
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }

    let overrides = Overrides {
        listen: cli.listen.clone(),
        data_dir: cli.data_dir.clone(),
        sdk_dir: cli.sdk_dir.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let sink = if cli.null_sink {
                SinkKind::Null
            } else {
                SinkKind::Store
            };
            actix_web::rt::System::new()
                .block_on(server::run(config, sink))
                .map_err(|e| e.to_string())
        }
        Command::Import {
            file,
            site,
            who,
            ignore_unknown,
        } => {
            let options = footprint_edge::import::Options { ignore_unknown };
            footprint_edge::import::cli(&config, &file, site, who, options)
                .map(|report| println!("{report}"))
                .map_err(|e| e.to_string())
        }
        Command::Compact => footprint_edge::store::Store::open(&config.data_dir, &config.store)
            .map_err(|e| e.to_string())
            .and_then(|store| {
                let r = store
                    .compact()
                    .map_err(|e| e.to_string())?
                    .blocking_recv()
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string());
                store.shutdown();
                let c = r?;
                println!(
                    "compacted {} records in {} ms: {} bytes before, {} after",
                    c.records, c.millis, c.bytes_before, c.bytes_after
                );
                Ok(())
            }),
        Command::Backup { dir, token, url } => {
            footprint_edge::backup::cli(&config, &dir, token.as_deref(), url.as_deref())
                .map(|m| println!("{m}"))
        }
        Command::Restore { dir, replace } => {
            footprint_edge::store::backup::restore(&dir, &config.data_dir, replace)
                .map_err(|e| e.to_string())
                .map(|m| {
                    println!(
                        "restored {} records (to chunk {}) taken at {} into {}",
                        m.records,
                        m.last_seq,
                        footprint_edge::contacts::patch::time_text(m.taken_at),
                        config.data_dir.display()
                    )
                })
        }
        Command::Clv {
            command: ClvCommand::Fit { file },
        } => footprint_edge::clv::fit_file(&file).map(|json| println!("{json}")),
        Command::SledCeiling { seconds } => {
            footprint_edge::store::ceiling::run(&config.data_dir, &config.store, seconds)
                .map(|report| println!("{report}"))
                .map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
