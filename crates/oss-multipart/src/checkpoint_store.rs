//! Checkpoint files on disk: a deterministic location per (bucket, key, source file) and
//! atomic replacement (write a temporary file in the same directory, `fsync`, rename), so a
//! crash at any moment leaves either the previous or the new checkpoint, never a torn one.
//!
//! The location does not depend on the file's size or modification time: a run of a file
//! that changed since the checkpoint was written finds it, and can abort the upload it names
//! instead of leaking it (the identity recorded inside decides whether it still applies).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::{CheckpointFailure, Error};

/// The deterministic checkpoint path for an upload of the file at `source` to `bucket`/`key`.
///
/// The name hashes every field (the source by its canonical path when it has one) so that two
/// different uploads never share a file, and carries no secret (only names the user chose).
pub(crate) fn checkpoint_path(dir: &Path, bucket: &str, key: &str, source: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let source = canonical.to_string_lossy();
    let mut h = sha2::Sha256::new();
    for field in [bucket.as_bytes(), key.as_bytes(), source.as_bytes()] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field);
    }
    let digest = h.finalize();
    dir.join(format!(
        "{}.ossmp-checkpoint.json",
        hex::encode(&digest[..16])
    ))
}

/// Writes `value` as JSON to `path` atomically (temp file + fsync + rename).
pub(crate) async fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| {
        Error::io(
            "could not serialise the checkpoint",
            Some(path),
            std::io::Error::other(e),
        )
    })?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || save_blocking(&path, &json))
        .await
        .map_err(|e| {
            Error::io(
                "checkpoint writer task failed",
                None,
                std::io::Error::other(e),
            )
        })?
}

fn save_blocking(path: &Path, json: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io("could not create the checkpoint directory", Some(dir), e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".to_owned());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(json)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("could not write the checkpoint", Some(path), e)
    })
}

/// Reads a checkpoint; `Ok(None)` when there is none. A file that is not a checkpoint is
/// [`Error::Checkpoint`] naming the upload it points to when that much can be read (we never
/// silently start over and leak the parts it points to).
pub(crate) async fn load<T: for<'de> Deserialize<'de> + Send + 'static>(
    path: &Path,
) -> Result<Option<T>, Error> {
    if let Some(dir) = path.parent().map(Path::to_path_buf) {
        let _ = tokio::task::spawn_blocking(move || remove_stale_temps(&dir)).await;
    }
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("could not read the checkpoint", Some(path), e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::Checkpoint(CheckpointFailure {
            path: path.to_path_buf(),
            upload_id: upload_id_in(&bytes),
            reason: format!("it is not a valid checkpoint ({e})"),
        })
    })
}

/// Removes the temp files (`.NAME.PID.tmp`, see [`save`]) that a process killed between
/// writing and renaming left in `dir`, when that process is gone. Best effort: a file that
/// cannot be listed or removed stays, and where liveness cannot be told (no `/proc`), nothing
/// is removed, so a temp file another running process is writing is never touched.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        if process_is_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The pid in a checkpoint temp file's name (`.X.ossmp-checkpoint.json.PID.tmp`).
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (checkpoint, pid) = rest.rsplit_once('.')?;
    checkpoint
        .ends_with(".ossmp-checkpoint.json")
        .then_some(())?;
    pid.parse().ok()
}

/// Whether process `pid` certainly no longer exists.
fn process_is_gone(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// The upload id a checkpoint file names, read leniently (any JSON object with a string
/// `upload_id`), so that even a checkpoint of another version can be cleaned up.
pub(crate) async fn upload_id_of(path: &Path) -> Option<String> {
    upload_id_in(&tokio::fs::read(path).await.ok()?)
}

fn upload_id_in(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("upload_id")?.as_str()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// Removes the checkpoint after success; a missing file is fine.
pub(crate) async fn remove(path: &Path) -> Result<(), Error> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("could not remove the checkpoint", Some(path), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_deterministic_and_distinct() {
        let d = Path::new("/tmp/cp");
        let f = Path::new("/data/f");
        let a = checkpoint_path(d, "b", "k", f);
        assert_eq!(a, checkpoint_path(d, "b", "k", f));
        assert_ne!(a, checkpoint_path(d, "b", "k", Path::new("/data/g")));
        assert_ne!(a, checkpoint_path(d, "b", "k2", f));
        // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(
            checkpoint_path(d, "ab", "c", f),
            checkpoint_path(d, "a", "bc", f)
        );
        assert!(a.starts_with(d));
    }

    #[test]
    fn temp_names_are_recognised() {
        assert_eq!(temp_owner(".ab.ossmp-checkpoint.json.42.tmp"), Some(42));
        assert_eq!(temp_owner(".ab.ossmp-checkpoint.json.x.tmp"), None);
        assert_eq!(temp_owner(".notes.txt.42.tmp"), None);
        assert_eq!(temp_owner("ab.ossmp-checkpoint.json"), None);
    }

    /// A killed writer's temp file goes when a checkpoint of the directory is next read; a
    /// live writer's (ours) stays, and so does anything that is not a checkpoint temp file.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn stale_temp_files_of_dead_processes_are_removed_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let name = "0123.ossmp-checkpoint.json";
        // Linux pids stay below 2^22, so this one never runs.
        let dead = dir.path().join(format!(".{name}.999999999.tmp"));
        let live = dir
            .path()
            .join(format!(".{name}.{}.tmp", std::process::id()));
        let other = dir.path().join(".notes.999999999.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"{").unwrap();
        }
        assert!(
            load::<Vec<u32>>(&dir.path().join(name))
                .await
                .unwrap()
                .is_none()
        );
        assert!(!dead.exists(), "stale temp file kept");
        assert!(live.exists() && other.exists());
    }

    #[tokio::test]
    async fn unusable_files_name_their_upload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        std::fs::write(&p, br#"{"version": 999, "upload_id": "U1"}"#).unwrap();
        let Err(Error::Checkpoint(c)) = load::<Vec<u32>>(&p).await else {
            panic!("not a checkpoint error")
        };
        assert_eq!((c.path(), c.upload_id()), (p.as_path(), Some("U1")));
        assert_eq!(upload_id_of(&p).await.as_deref(), Some("U1"));
        std::fs::write(&p, b"{ not json").unwrap();
        assert!(upload_id_of(&p).await.is_none());
    }

    #[tokio::test]
    async fn save_load_remove_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.json");
        assert!(load::<Vec<u32>>(&p).await.unwrap().is_none());
        save(&p, &vec![1u32, 2, 3]).await.unwrap();
        assert_eq!(load::<Vec<u32>>(&p).await.unwrap(), Some(vec![1, 2, 3]));
        save(&p, &vec![4u32]).await.unwrap();
        assert_eq!(load::<Vec<u32>>(&p).await.unwrap(), Some(vec![4]));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        std::fs::write(&p, b"{not json").unwrap();
        assert!(load::<Vec<u32>>(&p).await.is_err());
        remove(&p).await.unwrap();
        remove(&p).await.unwrap();
    }
}
