//! The `oxbook` binary: parses the command line and hands over to the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use oxbook_server::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

// Why mimalloc: see its entry in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => {
            init_tracing("info");
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            match runtime.block_on(oxbook_server::serve::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Run(args) => {
            // The runner's own output is the point; only warnings go to the log.
            init_tracing("warn");
            // The kernel session is not Send: the run stays on this thread (under
            // `block_on`), and the one worker thread hears Ctrl-C while a cell keeps this
            // thread busy.
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
            };
            let mut stdout = std::io::stdout().lock();
            let cancel = oxbook_server::runner::watch_ctrl_c(runtime.handle());
            match runtime.block_on(oxbook_server::runner::run_cancellable(
                &args,
                &mut stdout,
                cancel,
            )) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

fn init_tracing(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only help a person at a terminal; they garble log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn fail(message: &str) -> ExitCode {
    eprintln!("oxbook: error: {message}");
    ExitCode::FAILURE
}
