//! Publishing a run's output atomically.
//!
//! A run writes into a hidden sibling of its output directory
//! (`.NAME.partial`), flushes every file to disk, writes `manifest.json`
//! last, and only then renames the directory into place. A run killed at
//! any moment leaves either nothing under NAME or a complete output with
//! its manifest: never a partial output that looks complete. A leftover
//! partial directory (or `.NAME.old`, the output being replaced by a run
//! without a state directory) is removed by the next run.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::error::Failure;
use crate::state::{published_run_id, sync_dir, try_lock};

pub const MANIFEST: &str = "manifest.json";

/// An input of the run, as consumed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputFile {
    pub path: String,
    pub size: u64,
    /// xxh3-128 of the contents, hex.
    pub hash: String,
}

impl InputFile {
    /// An input of `size` bytes whose xxh3-128 is `digest`.
    pub fn hashed(path: String, size: u64, digest: u128) -> Self {
        InputFile {
            path,
            size,
            hash: format!("{digest:032x}"),
        }
    }
}

/// A price list revision the run had loaded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ListRevision {
    pub id: String,
    pub revision: u16,
    pub path: String,
    /// Hash of the text, where the revision alone does not pin the
    /// content (the components and rules of `profiles/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// What of the price-list directory a run used, for its manifest and its
/// id: every list revision, every profile revision, and a hash of the
/// profile files (components and rules carry no revision).
pub fn list_revisions(lists: &crate::resolve::PriceLists) -> Vec<ListRevision> {
    let mut v: Vec<ListRevision> = lists
        .all()
        .map(|l| ListRevision {
            id: l.def.id.clone(),
            revision: l.def.revision,
            path: l.path.display().to_string(),
            digest: None,
        })
        .collect();
    let interactions = &lists.interactions;
    if !interactions.is_empty() {
        v.extend(interactions.profiles().iter().map(|p| ListRevision {
            id: p.id.clone(),
            revision: p.revision,
            path: p.path.display().to_string(),
            digest: None,
        }));
        v.push(ListRevision {
            id: "profiles, components and rules".into(),
            revision: 0,
            path: crate::resolve::profile::DIR.into(),
            digest: Some(format!("{:032x}", interactions.digest())),
        });
    }
    v
}

/// Feeds what identifies the price lists used into a run id's hash.
pub fn hash_list_revisions(h: &mut xxhash_rust::xxh3::Xxh3, lists: &[ListRevision]) {
    h.update(b"\0lists");
    for l in lists {
        h.update(l.id.as_bytes());
        h.update(&l.revision.to_le_bytes());
        if let Some(d) = &l.digest {
            h.update(d.as_bytes());
        }
    }
}

/// Written last: its presence says the output is complete.
#[derive(Debug, Serialize)]
pub struct Manifest<'a, S: Serialize> {
    pub sdrate_version: &'static str,
    pub run_id: &'a str,
    pub dry_run: bool,
    /// A billing run with a state directory: its output is never replaced.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub billing: bool,
    pub inputs: &'a [InputFile],
    /// Inputs a published run had already consumed; not rated again.
    pub skipped_inputs: &'a [InputFile],
    pub price_lists: &'a [ListRevision],
    /// The customer registry the run priced with (path, size, hash): with
    /// the price lists, what answers "which customer data priced this run?".
    pub customers: &'a InputFile,
    /// The routing file of subscribers, when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<&'a InputFile>,
    /// The export files (`--export`), by name in OUT, with their hashes.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub exports: &'a [InputFile],
    pub summary: &'a S,
}

/// Hashes a file's contents (xxh3-128, hex) and size.
pub fn hash_file(path: &Path) -> Result<InputFile> {
    use std::io::Read;
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok(InputFile::hashed(
        path.display().to_string(),
        size,
        h.digest128(),
    ))
}

/// A run's output being written.
pub struct Staging {
    partial: PathBuf,
    out: PathBuf,
    /// Replace an existing output (runs without a state directory).
    replace: bool,
    /// The output location's lock, held until the output is published or
    /// dropped (see [`lock_output`]).
    _lock: OutputLock,
}

/// A held lock on `.NAME.lock`; the file is removed (while still locked)
/// when the run is done with its output, so nothing is left beside it.
struct OutputLock {
    file: File,
    path: PathBuf,
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // Unlinked before the lock is released: a run that opened this
        // file meanwhile finds, once it holds the lock, that the path no
        // longer names it, and tries again (see `lock_output`).
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Locks the output location `out` for this run: an exclusive lock on
/// `.NAME.lock` beside it, taken before anything there is touched. Two
/// runs into one `--out` without a shared state directory used to delete
/// each other's `.NAME.partial` and publish a mixed directory (12,160 SDRs
/// recorded as billed but published nowhere, 1,170 billed twice); now the
/// second exits 5 and touches nothing. The lock file is removed when the
/// run is done; a lock taken on a file that was removed meanwhile is taken
/// again on the new one, so two runs never both hold it.
fn lock_output(out: &Path) -> Result<OutputLock> {
    let partial = partial_path(out)?;
    let path = partial.with_extension("lock");
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| {
            format!(
                "cannot create the output directory {} (its parent {} cannot be created)",
                out.display(),
                parent.display()
            )
        })?;
    }
    loop {
        let file = try_lock(&path, || {
            format!(
                "another sdrate run is writing {} (its lock {} is held); nothing was done",
                out.display(),
                path.display()
            )
        })?;
        if same_file(&file, &path) {
            return Ok(OutputLock { file, path });
        }
        // The run that held it removed it as we opened it: lock the new one.
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

fn partial_path(out: &Path) -> Result<PathBuf> {
    let name = out
        .file_name()
        .ok_or_else(|| Failure::Refused(format!("--out {} names no directory", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(parent.join(format!(".{}.partial", name.to_string_lossy())))
}

/// Starts writing `file`'s dirty pages to disk without waiting for them,
/// so that the fsync before publication finds most of the output already
/// written (on a 1 M-record run that fsync otherwise waited ~0.2 s for
/// 400 MB). A hint only: where it is unsupported nothing happens.
pub fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain syscall on a file descriptor this File owns; the
        // flag only initiates writeback and touches no memory of ours.
        unsafe {
            libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// fsyncs every file under `dir`, then the directories themselves.
fn sync_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("cannot flush {} to disk", path.display()))?;
        }
    }
    sync_dir(dir)
}

/// Whether a run may replace `out`: a directory holding a published
/// output (its manifest), or an empty one.
fn is_replaceable(out: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default)]
        billing: bool,
    }
    let manifest = out.join(MANIFEST);
    let billing = fs::read(&manifest)
        .ok()
        .and_then(|b| serde_json::from_slice::<Head>(&b).ok())
        .is_some_and(|h| h.billing);
    out.is_dir()
        && !billing
        && (manifest.is_file()
            || fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_none()))
}

impl Staging {
    /// Starts writing the output for `out`. With `replace` false, an
    /// existing `out` is an error: a published run is never overwritten.
    /// With `replace` true, an existing `out` must be an earlier output
    /// (with its manifest) or empty: anything else is an error too.
    pub fn begin(out: &Path, replace: bool) -> Result<Self> {
        let lock = lock_output(out)?;
        let partial = partial_path(out)?;
        // Leftovers of a run killed while writing, or while replacing
        // its output (between moving the old one aside and renaming).
        for leftover in [&partial, &partial.with_extension("old")] {
            if leftover.exists() {
                fs::remove_dir_all(leftover)
                    .with_context(|| format!("cannot remove {}", leftover.display()))?;
            }
        }
        if out.exists() && !replace {
            let what = match published_run_id(out) {
                Some(id) => format!("holds the published run {id}"),
                None => "exists".into(),
            };
            return Err(Failure::Refused(format!(
                "output directory {} {what}; published output is never overwritten: give a new --out",
                out.display()
            ))
            .into());
        }
        // Replacing removes everything under `out`: only ever an earlier
        // sdrate output (or an empty directory), never a directory of
        // other things named by mistake.
        if replace && out.exists() && !is_replaceable(out) {
            return Err(Failure::Refused(format!(
                "{} exists and is not a report sdrate may replace (it holds a billing run's output, or is not an sdrate output: no {MANIFEST}); give a new --out",
                out.display()
            ))
            .into());
        }
        fs::create_dir_all(&partial).with_context(|| {
            format!(
                "cannot create the output directory {} (written first as {})",
                out.display(),
                partial.display()
            )
        })?;
        Ok(Staging {
            partial,
            out: out.to_path_buf(),
            replace,
            _lock: lock,
        })
    }

    /// Where the run writes its files.
    /// Writes the run summary (pretty JSON) into the staged output and
    /// returns the bytes, for `--summary-json`.
    pub fn write_summary(&self, summary: &impl Serialize) -> Result<Vec<u8>> {
        let name = crate::write::names::SUMMARY;
        let mut json =
            serde_json::to_vec_pretty(summary).context("cannot serialise the summary")?;
        json.push(b'\n');
        fs::write(self.partial.join(name), &json)
            .with_context(|| format!("cannot write {name}"))?;
        Ok(json)
    }

    pub fn dir(&self) -> &Path {
        &self.partial
    }

    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Flushes everything, writes the manifest, and renames the output
    /// into place.
    pub fn publish<S: Serialize>(self, manifest: &Manifest<'_, S>) -> Result<()> {
        sync_tree(&self.partial)?;
        let mut json =
            serde_json::to_vec_pretty(manifest).context("cannot serialise the manifest")?;
        json.push(b'\n');
        let path = self.partial.join(MANIFEST);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = File::create(&path)?;
            f.write_all(&json)?;
            f.sync_all()
        };
        write().with_context(|| format!("cannot write {}", path.display()))?;
        sync_dir(&self.partial)?;
        if self.replace && self.out.exists() {
            // Without a state directory the output is a report to look at:
            // the old one goes only once the new one is complete.
            let old = self.partial.with_extension("old");
            if old.exists() {
                fs::remove_dir_all(&old)
                    .with_context(|| format!("cannot remove {}", old.display()))?;
            }
            fs::rename(&self.out, &old)
                .with_context(|| format!("cannot move {} aside", self.out.display()))?;
            fs::rename(&self.partial, &self.out)
                .with_context(|| format!("cannot publish {}", self.out.display()))?;
            fs::remove_dir_all(&old).with_context(|| format!("cannot remove {}", old.display()))?;
        } else {
            fs::rename(&self.partial, &self.out)
                .with_context(|| format!("cannot publish {}", self.out.display()))?;
        }
        if let Some(parent) = self.out.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Drops the partial output (a dry run, or an error).
    pub fn abandon(self) -> Result<()> {
        fs::remove_dir_all(&self.partial)
            .with_context(|| format!("cannot remove {}", self.partial.display()))
    }
}

impl Drop for Staging {
    /// A run that fails (a full disk, an unreadable input) removes what it
    /// wrote, so a full disk does not stay full; a published output was
    /// renamed away and is untouched. An earlier output moved aside by a
    /// replacement that failed half-way goes back in place. (A run killed
    /// outright is cleaned up by the next one, in [`Staging::begin`].)
    fn drop(&mut self) {
        if self.partial.exists() {
            let _ = fs::remove_dir_all(&self.partial);
        }
        let old = self.partial.with_extension("old");
        if old.exists() && !self.out.exists() {
            let _ = fs::rename(&old, &self.out);
        }
    }
}
