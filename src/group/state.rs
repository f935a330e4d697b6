//! The state directory: sessions still open at the end of a run, carried
//! into the next one.
//!
//! `pending-sessions.jsonl` holds one session per line (its events, with
//! where each came from and its raw bytes, so a session that later fails
//! can still be recycled whole). It is replaced atomically: written to a
//! temporary file, flushed to disk, then renamed over the old one, so a
//! crash leaves either the old state or the new, never half of one.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::assemble::Session;

pub const PENDING: &str = "pending-sessions.jsonl";

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens (creating) the state directory.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create state directory {}", dir.display()))?;
        Ok(StateDir {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The sessions left pending by the previous run.
    pub fn load_pending(&self) -> Result<Vec<Session>> {
        let path = self.dir.join(PENDING);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
        };
        let mut out = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let s: Session = serde_json::from_str(&line).with_context(|| {
                format!(
                    "{} line {}: not a pending session written by sdrate",
                    path.display(),
                    i + 1
                )
            })?;
            out.push(s);
        }
        Ok(out)
    }

    /// Replaces the pending sessions atomically.
    pub fn save_pending(&self, sessions: &[Session]) -> Result<()> {
        let path = self.dir.join(PENDING);
        let tmp = self.dir.join(format!(".{PENDING}.tmp"));
        let write = || -> Result<()> {
            let mut w = BufWriter::new(File::create(&tmp)?);
            for s in sessions {
                serde_json::to_writer(&mut w, s)?;
                w.write_all(b"\n")?;
            }
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            Ok(())
        };
        write().with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot replace {}", path.display()))?;
        // The rename is durable only once the directory is synced.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
