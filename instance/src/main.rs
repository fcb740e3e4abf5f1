//! `mono`: the MONO instance binary. Parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use mono_instance::cli::{self, Cli, Outcome};

fn main() -> ExitCode {
    let args =
        match cli::config_file::apply(std::env::args_os().collect(), |name| std::env::var_os(name))
        {
            Ok(args) => args,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(cli::EXIT_BAD_INPUT);
            }
        };
    let parsed = match Cli::try_parse_from(args) {
        Ok(parsed) => parsed,
        Err(err) => {
            // Help and version go to stdout with success; a usage error is bad input and, like
            // every other error, is reported on one line.
            if !err.use_stderr() {
                let _ = err.print();
                return ExitCode::SUCCESS;
            }
            let rendered = err.render().to_string();
            eprintln!(
                "{}",
                rendered
                    .lines()
                    .next()
                    .unwrap_or("error: invalid arguments")
            );
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    match cli::run(parsed) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Negative) => ExitCode::from(cli::EXIT_NEGATIVE),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::exit_code_for(&err))
        }
    }
}
