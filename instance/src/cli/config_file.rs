//! `mono serve --config FILE`: settings from a file, beneath the environment and the flags.
//!
//! The file holds one `MONO_NAME=value` per line, the names of the environment variables the
//! flags read (blank lines and `#` comments are skipped, a value may be quoted), so one set of
//! names serves a systemd `EnvironmentFile`, a Kubernetes ConfigMap and this file alike.
//! Precedence is flags, then the environment, then the file: a setting given as a flag or set
//! in the environment is not taken from the file. A name the command does not read is an
//! error, so a typo never goes unnoticed.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, CommandFactory as _};

use super::Cli;

/// The flag naming the file, and its variable.
const FLAG: &str = "--config";
const VARIABLE: &str = "MONO_CONFIG";

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file cannot be read.
    #[error("reading the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not `NAME=value`.
    #[error("{path} line {line}: expected MONO_NAME=value")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
    },
    /// A name the command does not read.
    #[error("{path} line {line}: `mono {command}` has no setting {name}")]
    Unknown {
        /// The file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// The subcommand.
        command: String,
        /// The name.
        name: String,
    },
    /// A switch's value is neither true nor false.
    #[error("{path} line {line}: {name} is a switch: true or false")]
    NotASwitch {
        /// The file.
        path: PathBuf,
        /// The line's number, from 1.
        line: usize,
        /// The name.
        name: String,
    },
}

/// The command line with the configuration file's settings added as flags, when `--config FILE` (or `MONO_CONFIG`) names one; `environment` looks a variable up.
pub fn apply(
    args: Vec<OsString>,
    environment: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<OsString>, ConfigFileError> {
    let Some(path) = config_path(&args, &environment) else {
        return Ok(args);
    };
    // The subcommand is the first argument after the program's name.
    let Some(command_name) = args.get(1).and_then(|arg| arg.to_str()).map(str::to_owned) else {
        return Ok(args);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigFileError::Read {
        path: path.clone(),
        source,
    })?;
    let command = Cli::command();
    let Some(subcommand) = command.find_subcommand(&command_name) else {
        return Ok(args);
    };
    let mut settings = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (name, value) = raw.split_once('=').ok_or_else(|| ConfigFileError::Syntax {
            path: path.clone(),
            line,
        })?;
        let (name, value) = (name.trim(), unquote(value.trim()));
        let arg = subcommand
            .get_arguments()
            .find(|arg| arg.get_env().is_some_and(|env| env == name))
            .filter(|arg| arg.get_long().is_some() && name != VARIABLE)
            .ok_or_else(|| ConfigFileError::Unknown {
                path: path.clone(),
                line,
                command: command_name.clone(),
                name: name.to_owned(),
            })?;
        let long = format!("--{}", arg.get_long().unwrap_or_default());
        if environment(name).is_some() || given(&args, &long) {
            continue;
        }
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value {
                "true" => settings.push(OsString::from(long)),
                "false" => {}
                _ => {
                    return Err(ConfigFileError::NotASwitch {
                        path: path.clone(),
                        line,
                        name: name.to_owned(),
                    });
                }
            }
        } else {
            settings.push(OsString::from(format!("{long}={value}")));
        }
    }
    let mut merged = args;
    let rest = merged.split_off(2);
    merged.extend(settings);
    merged.extend(rest);
    Ok(merged)
}

/// Whether the command line gives the flag `long` (`--name value` or `--name=value`).
fn given(args: &[OsString], long: &str) -> bool {
    args.iter().filter_map(|arg| arg.to_str()).any(|arg| {
        arg == long
            || arg
                .strip_prefix(long)
                .is_some_and(|rest| rest.starts_with('='))
    })
}

/// The file `--config FILE`, `--config=FILE` or `MONO_CONFIG` names.
fn config_path(
    args: &[OsString],
    environment: impl Fn(&str) -> Option<OsString>,
) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == FLAG {
            return iter.next().map(PathBuf::from);
        }
        if let Some(value) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(value));
        }
    }
    environment(VARIABLE).map(PathBuf::from)
}

/// A value without the one pair of quotes around it, if any.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{ConfigFileError, apply};

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), text).expect("written");
        file
    }

    #[test]
    fn settings_come_from_the_file_beneath_flags_and_environment() {
        let config = file(
            "# the instance\nMONO_DATABASE_URL=sqlite://a.db\nMONO_LISTEN = \"127.0.0.1:9000\"\n\
             MONO_COOPNAME=voskhod\nMONO_NO_SYNC=true\nMONO_SHIP=ws://file\n",
        );
        let path = config.path().to_str().expect("UTF-8");
        let merged = apply(
            args(&["mono", "serve", "--config", path, "--coopname", "zarya"]),
            |name| (name == "MONO_SHIP").then(|| OsString::from("ws://environment")),
        )
        .expect("applied");
        assert_eq!(
            merged,
            args(&[
                "mono",
                "serve",
                "--database=sqlite://a.db",
                "--listen=127.0.0.1:9000",
                "--no-sync",
                "--config",
                path,
                "--coopname",
                "zarya",
            ])
        );
    }

    #[test]
    fn a_name_the_command_does_not_read_is_refused_with_its_line() {
        let config = file("MONO_DATABASE_URL=sqlite://a.db\nMONO_LISTN=0.0.0.0:1\n");
        let path = config.path().to_str().expect("UTF-8");
        let err = apply(args(&["mono", "serve", "--config", path]), |_| None)
            .expect_err("a typo is refused");
        assert!(
            matches!(&err, ConfigFileError::Unknown { line: 2, name, .. } if name == "MONO_LISTN"),
            "{err}"
        );
        let config = file("MONO_NO_SYNC=yes\n");
        let path = config.path().to_str().expect("UTF-8");
        let err = apply(args(&["mono", "serve", "--config", path]), |_| None)
            .expect_err("a switch is true or false");
        assert!(matches!(err, ConfigFileError::NotASwitch { .. }), "{err}");
        let config = file("just words\n");
        let path = config.path().to_str().expect("UTF-8");
        let err = apply(args(&["mono", "serve", "--config", path]), |_| None)
            .expect_err("a line is NAME=value");
        assert!(
            matches!(err, ConfigFileError::Syntax { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn without_a_file_the_command_line_is_unchanged() {
        let line = args(&["mono", "serve", "--database", "sqlite://a.db"]);
        assert_eq!(apply(line.clone(), |_| None).expect("applied"), line);
    }
}
