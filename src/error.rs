//! The kinds of failure the library tells apart, so that whoever runs it
//! (the command line) can act on them: the binary maps each to an exit
//! code (`src/exit.rs`); anything else is an I/O error. The library never
//! chooses an exit code itself.

/// A failure of a kind the caller must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The request cannot be carried out as asked (a bad value, an output
    /// location that holds a published run): fix the request.
    #[error("{0}")]
    Refused(String),
    /// Price lists, customers, routing or profiles do not load: fix the
    /// file named; nothing was rated.
    #[error("{0}")]
    Config(String),
    /// Another run holds the lock of the state directory or the output
    /// location: nothing was done.
    #[error("{0}")]
    Locked(String),
    /// A run's records do not add up (read ≠ priced + faulted + ...): a
    /// defect, found before anything was published.
    #[error("{0}")]
    Unbalanced(String),
}

impl Failure {
    /// [`Failure::Unbalanced`] unless a run's accounting identity `holds`:
    /// checked before anything is published.
    pub fn require_balanced(holds: bool, records_read: u64) -> Result<(), Failure> {
        if holds {
            return Ok(());
        }
        Err(Failure::Unbalanced(format!(
            "the run's records do not add up ({records_read} read); nothing was published"
        )))
    }
}
