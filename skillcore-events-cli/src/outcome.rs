//! How a command ends: an exit code, or a [`Failure`] with its message.
//!
//! Exit codes: [`OK`] 0; [`FINDINGS`] 1 (catalog violations or drift);
//! [`USAGE_OR_IO`] 2 (usage or I/O errors).

use crate::term;
use std::io::Write;
use std::path::Path;

/// Everything went well.
pub(crate) const OK: u8 = 0;
/// The catalog has violations, or exported files drifted.
pub(crate) const FINDINGS: u8 = 1;
/// Bad usage, or a file could not be read or written.
pub(crate) const USAGE_OR_IO: u8 = 2;

/// A failure that ends a command: its exit code and what to print on stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// A usage or I/O error. The message is escaped for the terminal: it may
    /// quote paths and names from the catalog or the command line.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE_OR_IO,
            message: format!("error: {}", term::escape(&message.into())),
        }
    }

    /// Reading or writing `path` failed.
    pub(crate) fn io(what: &str, path: &Path, e: std::io::Error) -> Self {
        Failure::usage(format!("cannot {what} `{}`: {e}", path.display()))
    }
}

/// What a command returns: its exit code, or the failure that ended it.
pub(crate) type Outcome = Result<u8, Failure>;

/// Prints `text` to standard output; a closed pipe (`| head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}
