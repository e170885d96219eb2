//! Where the store's files live in the data directory, and how a compaction replaces them.
//!
//! sled writes a log: a removed value stays in its old segment until sled happens to clean it.
//! An erasure must not leave personal data on disk for an unbounded time, so a compaction copies
//! the live records into a fresh sled directory (a new *generation*) and deletes the old one.
//!
//! ```text
//! data_dir/
//!   CURRENT            the generation in use, e.g. `gen-000003`; replaced atomically
//!   gen-000003/        sled's files
//!   suppression.key    the suppression list's hash key (see `suppress.rs`)
//! ```
//!
//! A crash mid-compaction leaves `CURRENT` naming one whole generation: the old one before the
//! switch, the new one after it. Every other generation is removed when the store opens and
//! when a compaction starts (`remove_stale`): a half-written new one, and an old one a crash
//! left behind after the switch, with the erased values it still held. A data directory written
//! before generations existed (sled's files at its top) is opened in place and moved into a
//! generation by its first compaction.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const CURRENT: &str = "CURRENT";
/// sled's own files at the top of a data directory from before generations.
const LEGACY_FILES: [&str; 3] = ["conf", "db", "blobs"];

pub(super) struct Layout {
    root: PathBuf,
    /// 0 for the legacy layout, where sled's files are `root` itself.
    gen: u64,
    /// `LOCK`, locked for as long as this layout is open: one process owns a data directory
    /// (a second one would remove the generation a running compaction is writing).
    _lock: fs::File,
}

fn gen_name(gen: u64) -> String {
    format!("gen-{gen:06}")
}

impl Layout {
    /// Opens the data directory, or fails with `WouldBlock` when another process has it.
    pub fn open(root: &Path) -> io::Result<Layout> {
        fs::create_dir_all(root)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("LOCK"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "another edge or command has this data directory open",
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        let gen = match fs::read_to_string(root.join(CURRENT)) {
            Ok(text) => text
                .trim()
                .strip_prefix("gen-")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} holds `{}`, not a generation like gen-000001",
                            root.join(CURRENT).display(),
                            text.trim()
                        ),
                    )
                })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if root.join("conf").exists() {
                    0
                } else {
                    let l = Layout {
                        root: root.into(),
                        gen: 1,
                        _lock: lock,
                    };
                    l.point_at(1)?;
                    return Ok(l);
                }
            }
            Err(e) => return Err(e),
        };
        let l = Layout {
            root: root.into(),
            gen,
            _lock: lock,
        };
        l.remove_stale()?;
        Ok(l)
    }

    /// Removes every generation `CURRENT` does not name, a legacy layout's files once a
    /// generation replaced them, and a `CURRENT.tmp` a crash left.
    pub fn remove_stale(&self) -> io::Result<()> {
        if self.gen == 0 {
            return Ok(());
        }
        let keep = gen_name(self.gen);
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stale_gen = name.starts_with("gen-") && name != keep;
            let legacy = LEGACY_FILES.contains(&name) || name.starts_with("snap.");
            if stale_gen || legacy || name == "CURRENT.tmp" {
                tracing::warn!(path = %entry.path().display(), "removing what a crash left of an earlier generation");
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// sled's directory for the generation in use.
    pub fn current(&self) -> PathBuf {
        match self.gen {
            0 => self.root.clone(),
            g => self.root.join(gen_name(g)),
        }
    }

    /// An empty directory for the next generation; what crashed compactions left is removed.
    pub fn prepare_next(&self) -> io::Result<PathBuf> {
        self.remove_stale()?;
        let dir = self.root.join(gen_name(self.gen + 1));
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(dir)
    }

    /// Makes the next generation (already written and flushed) the one in use. The old one's
    /// files stay until [`Retired::remove`], once nothing writes to them.
    pub fn advance(&mut self) -> io::Result<Retired> {
        let old = Retired {
            dir: self.current(),
            legacy: self.gen == 0,
        };
        self.point_at(self.gen + 1)?;
        self.gen += 1;
        Ok(old)
    }

    /// Writes `CURRENT` atomically: a temporary file, synced, renamed over it, and the
    /// directory synced so that the rename itself is durable.
    fn point_at(&self, gen: u64) -> io::Result<()> {
        let tmp = self.root.join("CURRENT.tmp");
        {
            let mut f = fs::File::create(&tmp)?;
            writeln!(f, "{}", gen_name(gen))?;
            f.sync_all()?;
        }
        fs::rename(&tmp, self.root.join(CURRENT))?;
        fs::File::open(&self.root)?.sync_all()
    }
}

/// A generation no longer in use.
pub(super) struct Retired {
    dir: PathBuf,
    legacy: bool,
}

impl Retired {
    pub fn remove(self) -> io::Result<()> {
        if !self.legacy {
            return remove_any(&self.dir);
        }
        for name in LEGACY_FILES {
            remove_any(&self.dir.join(name))?;
        }
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let snapshot = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("snap."));
            if snapshot {
                remove_any(&path)?;
            }
        }
        Ok(())
    }
}

/// Bytes of every file under `dir`.
pub(super) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn remove_any(path: &Path) -> io::Result<()> {
    let r = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match r {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_directory_starts_at_generation_one_and_advances() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Layout::open(dir.path()).unwrap();
        assert_eq!(l.current(), dir.path().join("gen-000001"));
        fs::create_dir_all(l.current()).unwrap();
        fs::write(l.current().join("db"), b"old").unwrap();
        let next = l.prepare_next().unwrap();
        fs::create_dir_all(&next).unwrap();
        l.advance().unwrap().remove().unwrap();
        assert_eq!(l.current(), next);
        assert!(!dir.path().join("gen-000001").exists());
        drop(l);
        assert_eq!(Layout::open(dir.path()).unwrap().current(), next);
    }

    #[test]
    fn a_legacy_directory_is_opened_in_place_and_emptied_by_its_first_compaction() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("conf"), b"c").unwrap();
        fs::write(dir.path().join("db"), b"d").unwrap();
        fs::write(dir.path().join("snap.0000000000001234"), b"s").unwrap();
        fs::write(dir.path().join("suppression.key"), b"k").unwrap();
        let mut l = Layout::open(dir.path()).unwrap();
        assert_eq!(l.current(), dir.path());
        fs::create_dir_all(l.prepare_next().unwrap()).unwrap();
        l.advance().unwrap().remove().unwrap();
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["CURRENT", "LOCK", "gen-000001", "suppression.key"]);
    }

    #[test]
    fn generations_a_crash_left_behind_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Layout::open(dir.path()).unwrap();
        fs::create_dir_all(l.current()).unwrap();
        fs::create_dir_all(l.prepare_next().unwrap()).unwrap();
        // Killed after the switch, before the old generation was deleted.
        let _retired = l.advance().unwrap();
        fs::create_dir_all(dir.path().join("gen-000007")).unwrap();
        fs::write(dir.path().join("CURRENT.tmp"), b"gen-000009").unwrap();
        assert_eq!(
            Layout::open(dir.path()).err().map(|e| e.kind()),
            Some(io::ErrorKind::WouldBlock),
            "one owner at a time"
        );
        drop(l);
        let l = Layout::open(dir.path()).unwrap();
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["CURRENT", "LOCK", "gen-000002"]);
        assert_eq!(l.current(), dir.path().join("gen-000002"));
    }
}
