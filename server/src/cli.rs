//! The command line: `oxbook [serve] [FLAGS]` and `oxbook run NOTEBOOK [FLAGS]`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};
use reqwest::Url;

use crate::datasets::DatasetStoreLocation;

#[derive(Debug, Parser)]
#[command(
    name = "oxbook",
    version,
    about = "Oxbook: a self-hosted ML notebook server, model registry and prediction endpoints",
    long_about = "Oxbook: a self-hosted ML notebook server, model registry and prediction \
                  endpoints.\n\nWith no subcommand, `oxbook` serves (same as `oxbook serve`) \
                  and takes the serve flags below.",
    after_help = "Logging: set RUST_LOG (e.g. RUST_LOG=debug or RUST_LOG=oxbook_server=debug).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Used when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the page, the notebook API, the model registry and prediction endpoints.
    Serve(ServeArgs),
    /// Run a notebook's code cells headlessly with the native kernel and print their outputs.
    Run(RunArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port; port 0 picks a free port).
    #[arg(
        long,
        env = "OXBOOK_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// Directory for the SQLite database `oxbook.sqlite` (both created when missing).
    #[arg(
        long,
        env = "OXBOOK_DATA_DIR",
        default_value = "data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Database URL, instead of the file in --data-dir (e.g. sqlite:/srv/oxbook/db.sqlite).
    /// Only SQLite is supported for now.
    #[arg(
        long,
        env = "OXBOOK_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Directory served under /static/ (holds the demo notebook and its data).
    #[arg(
        long,
        env = "OXBOOK_STATIC_DIR",
        default_value = "static",
        value_name = "DIR"
    )]
    pub static_dir: PathBuf,
    /// The built page (trunk's dist directory), served at /.
    #[arg(
        long,
        env = "OXBOOK_FRONTEND_DIR",
        default_value = "frontend/dist",
        value_name = "DIR"
    )]
    pub frontend_dir: PathBuf,
    /// Where uploaded datasets' bytes are kept [default: DATA_DIR/datasets]: a directory,
    /// or s3://BUCKET[/PREFIX] for an S3 or S3-compatible bucket, configured by the usual
    /// AWS variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL
    /// (or AWS_ENDPOINT) for a non-AWS server, AWS_ALLOW_HTTP=true for a plain-http one.
    /// Dataset metadata is kept in the database.
    #[arg(
        long,
        env = "OXBOOK_DATASET_STORE",
        value_name = "DIR|s3://BUCKET[/PREFIX]"
    )]
    pub dataset_store: Option<DatasetStoreLocation>,
    /// Largest dataset upload accepted, in bytes (larger ones are answered 413).
    #[arg(
        long,
        env = "OXBOOK_DATASET_MAX_BYTES",
        default_value_t = crate::datasets::DEFAULT_MAX_UPLOAD_BYTES,
        value_name = "BYTES"
    )]
    pub dataset_max_bytes: u64,
    /// Largest response GET /api/fetch passes on, in bytes (larger ones are answered 413).
    #[arg(
        long,
        env = "OXBOOK_FETCH_MAX_BYTES",
        default_value_t = crate::fetch::DEFAULT_FETCH_MAX_BYTES,
        value_name = "BYTES"
    )]
    pub fetch_max_bytes: u64,
    /// Time GET /api/fetch allows a remote server, redirects and body included (then 504).
    #[arg(
        long,
        env = "OXBOOK_FETCH_TIMEOUT_SECS",
        default_value_t = crate::fetch::DEFAULT_FETCH_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "SECS"
    )]
    pub fetch_timeout_secs: u64,
    /// FOR TESTS ONLY: let GET /api/fetch reach loopback addresses (127.0.0.0/8, ::1,
    /// localhost), so a test can fetch from a local HTTP server. Private, link-local and other
    /// non-public addresses stay refused. Never enable this on a server others can reach.
    #[arg(
        long,
        env = "OXBOOK_FETCH_ALLOW_LOOPBACK",
        action = ArgAction::SetTrue
    )]
    pub fetch_allow_loopback: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// A notebook JSON file, or the id of a notebook on --server.
    #[arg(value_name = "NOTEBOOK")]
    pub notebook: String,
    /// Oxbook server to fetch the notebook and relative file URLs from, to deploy and save
    /// models to, and to record experiment runs on (e.g. http://127.0.0.1:8080). Without
    /// it, files come from --static-dir or the local disk, and models and runs are written
    /// to --out-dir.
    #[arg(long, env = "OXBOOK_SERVER", value_name = "URL")]
    pub server: Option<Url>,
    /// Without --server: the directory that URLs starting with /static/ map to.
    #[arg(
        long,
        env = "OXBOOK_STATIC_DIR",
        default_value = "static",
        value_name = "DIR"
    )]
    pub static_dir: PathBuf,
    /// Without --server: where saved and deployed models are written, as NAME.model.json,
    /// and experiment runs appended to runs.jsonl (one JSON run per line).
    #[arg(long, env = "OXBOOK_OUT_DIR", default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fetch::FetchConfig;

    fn serve_args(args: &[&str]) -> ServeArgs {
        let cli = Cli::try_parse_from(std::iter::once("oxbook").chain(args.iter().copied()))
            .expect("the arguments parse");
        match cli.command {
            Some(Command::Serve(args)) => args,
            None => cli.serve,
            Some(Command::Run(_)) => panic!("not serve"),
        }
    }

    #[test]
    fn dataset_and_fetch_defaults() {
        let config = serve_args(&["serve", "--data-dir", "somewhere"]).app_config();
        assert_eq!(
            config.datasets.location,
            DatasetStoreLocation::Local(PathBuf::from("somewhere").join("datasets"))
        );
        assert_eq!(config.datasets.max_upload_bytes, 2 * 1024 * 1024 * 1024);
        assert_eq!(
            config.fetch,
            FetchConfig {
                max_bytes: 256 * 1024 * 1024,
                timeout: Duration::from_secs(30),
                allow_loopback: false,
            }
        );
    }

    #[test]
    fn dataset_and_fetch_flags() {
        let config = serve_args(&[
            "--dataset-store",
            "s3://bucket/pre/fix",
            "--dataset-max-bytes",
            "1000",
            "--fetch-max-bytes",
            "2000",
            "--fetch-timeout-secs",
            "5",
            "--fetch-allow-loopback",
        ])
        .app_config();
        assert_eq!(
            config.datasets.location,
            DatasetStoreLocation::S3 {
                bucket: "bucket".into(),
                prefix: "pre/fix".into()
            }
        );
        assert_eq!(config.datasets.max_upload_bytes, 1000);
        assert_eq!(
            config.fetch,
            FetchConfig {
                max_bytes: 2000,
                timeout: Duration::from_secs(5),
                allow_loopback: true,
            }
        );
        let error = Cli::try_parse_from(["oxbook", "--fetch-timeout-secs", "0"]).unwrap_err();
        assert!(
            error.to_string().contains("--fetch-timeout-secs"),
            "{error}"
        );
        let error = Cli::try_parse_from(["oxbook", "--dataset-store", "gs://b"]).unwrap_err();
        assert!(
            error.to_string().contains("unsupported dataset store"),
            "{error}"
        );
    }
}
