//! `generate-demo-data [--rows N] [--seed S] [--out FILE]`: writes the demo CSV
//! (default: 3000 rows, seed 7, to standard output).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut rows: u64 = 3000;
    let mut seed: u64 = 7;
    let mut out: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let parsed = match (flag.as_str(), value) {
            ("--rows", Some(v)) => v.parse().map(|n| rows = n).map_err(|e| format!("--rows: {e}")),
            ("--seed", Some(v)) => v.parse().map(|n| seed = n).map_err(|e| format!("--seed: {e}")),
            ("--out", Some(v)) => {
                out = Some(v);
                Ok(())
            }
            (flag, _) => Err(format!(
                "unexpected argument '{flag}'\nusage: generate-demo-data [--rows N] [--seed S] [--out FILE]"
            )),
        };
        if let Err(message) = parsed {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    }
    let result = match &out {
        Some(path) => std::fs::File::create(path)
            .map_err(csv::Error::from)
            .and_then(|file| oxbook_demo::write_people(rows, seed, std::io::BufWriter::new(file))),
        None => oxbook_demo::write_people(rows, seed, std::io::stdout().lock()),
    };
    match result {
        Ok(()) => {
            let _ = std::io::stdout().flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
