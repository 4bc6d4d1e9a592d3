//! Server-side and client-side evidence readers for the crash tests.
//!
//! `oss-local` stores part `n` of an upload as `<n>-<unique>.part` in the upload's directory
//! (`buckets/<bucket>/uploads/<id>/`, moved to `buckets/<bucket>/blobs/<id>/` at completion),
//! with a fresh `<unique>` per UploadPart it commits. So if the file name of part `n` is the
//! same before and after a client restart, part `n` was not sent (and stored) again.
//! The client's checkpoint (its journal) lists the parts it considers finished.

use std::collections::BTreeMap;
use std::path::Path;

/// Part number → data file name, for every upload (in progress or completed) of `bucket`,
/// keyed by upload id.
pub type PartFiles = BTreeMap<String, BTreeMap<u32, String>>;

/// Reads the part data files of every upload of `bucket` under the server's `data_dir`.
/// Missing directories read as empty.
pub fn part_files(data_dir: &Path, bucket: &str) -> PartFiles {
    let mut out = PartFiles::new();
    let root = data_dir.join("buckets").join(bucket);
    for area in ["uploads", "blobs"] {
        let Ok(uploads) = std::fs::read_dir(root.join(area)) else {
            continue;
        };
        for upload in uploads.flatten() {
            let id = upload.file_name().to_string_lossy().into_owned();
            let Ok(files) = std::fs::read_dir(upload.path()) else {
                continue;
            };
            let parts = out.entry(id).or_default();
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let Some(stem) = name.strip_suffix(".part") else {
                    continue;
                };
                if let Some(n) = stem.split('-').next().and_then(|n| n.parse().ok()) {
                    parts.insert(n, name);
                }
            }
        }
    }
    out
}

/// What a checkpoint file (the client's journal) says: the upload id and the part numbers it
/// recorded as finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// The multipart upload id.
    pub upload_id: String,
    /// Finished part numbers, ascending.
    pub parts: Vec<u32>,
}

/// Reads every checkpoint (`*.ossmp-checkpoint.json`) in `dir`; unreadable ones are skipped.
pub fn journals(dir: &Path) -> Vec<Journal> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        if !e
            .file_name()
            .to_string_lossy()
            .ends_with(".ossmp-checkpoint.json")
        {
            continue;
        }
        let Ok(bytes) = std::fs::read(e.path()) else {
            continue;
        };
        if let Some(j) = parse_journal(&bytes) {
            out.push(j);
        }
    }
    out
}

/// Parses one checkpoint file's JSON (format version 1 of `oss-multipart-core`).
pub fn parse_journal(bytes: &[u8]) -> Option<Journal> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let upload_id = v.get("upload_id")?.as_str()?.to_owned();
    let mut parts: Vec<u32> = v
        .get("parts")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("n")?.as_u64())
        .filter_map(|n| u32::try_from(n).ok())
        .collect();
    parts.sort_unstable();
    Some(Journal { upload_id, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parts_and_journals() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path().join("buckets/b/uploads/ID1");
        std::fs::create_dir_all(&up).unwrap();
        std::fs::write(up.join("1-aa.part"), b"x").unwrap();
        std::fs::write(up.join("1.json"), b"{}").unwrap();
        std::fs::write(up.join("12-bb.part"), b"x").unwrap();
        let files = part_files(dir.path(), "b");
        assert_eq!(files["ID1"].len(), 2);
        assert_eq!(files["ID1"][&12], "12-bb.part");
        let j = parse_journal(br#"{"upload_id":"U","parts":[{"n":3},{"n":1}]}"#).unwrap();
        assert_eq!(j.parts, [1, 3]);
        assert!(parse_journal(b"nope").is_none());
    }
}
