//! `ossmp rm -r` in DeleteMultipleObjects batches (counted at the server's door) and `ossmp stat`
//! with the object's ACL.

use crate::common::*;
use futures::StreamExt as _;

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn rm_r_deletes_in_batches_of_a_thousand_and_dry_run_deletes_nothing() {
    let local = Local::start(|c| c);
    let client = local.client();
    let count = 2100;
    local.rt.block_on(async {
        futures::stream::iter(0..count)
            .map(|i| {
                let client = client.clone();
                async move {
                    client
                        .put_object(BUCKET, &format!("many/{i:05}"), vec![b'x'; 3])
                        .await
                        .unwrap();
                }
            })
            .buffer_unordered(32)
            .collect::<Vec<()>>()
            .await;
        // A neighbour that must survive: `rm -r oss://bkt/many` means `many/`.
        client
            .put_object(BUCKET, "many-not/keep", vec![1u8])
            .await
            .unwrap();
    });

    let dry = local
        .ossmp()
        .args(["rm", "-r", "--dry-run", "--json", "oss://bkt/many"])
        .output()
        .unwrap();
    assert!(dry.status.success());
    let lines = json_lines(&dry.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["would_delete"].as_array().unwrap().len(), count);
    assert!(local.requests("POST /bkt/?delete").is_empty());
    assert!(local.requests("DELETE /bkt/").is_empty());

    let rm = local
        .ossmp()
        .args(["rm", "-r", "-f", "--json", "oss://bkt/many"])
        .output()
        .unwrap();
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    let lines = json_lines(&rm.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["deleted"].as_array().unwrap().len(), count);
    assert_eq!(lines[0]["failed"].as_array().unwrap().len(), 0);
    // 2,100 keys: three requests (1,000 + 1,000 + 100), no single deletes.
    assert_eq!(local.requests("POST /bkt/?delete").len(), 3);
    assert!(local.requests("DELETE /bkt/").is_empty());

    let ls = local
        .ossmp()
        .args(["ls", "--json", "oss://bkt/"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ls.stdout);
    assert!(!text.contains("many/0"), "left over: {text}");
    assert!(
        text.contains("many-not/keep"),
        "the neighbour survives: {text}"
    );
}

#[test]
fn stat_shows_the_acl_in_text_and_json() {
    let local = Local::start(|c| c);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.txt");
    write(&file, b"hello");
    let up = local
        .ossmp()
        .args(["cp", "--acl", "public-read"])
        .arg(&file)
        .arg("oss://bkt/acl/p.txt")
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    write(&file, b"plain");
    let up = local
        .ossmp()
        .arg("cp")
        .arg(&file)
        .arg("oss://bkt/acl/default.txt")
        .output()
        .unwrap();
    assert!(up.status.success());

    let json = local
        .ossmp()
        .args(["stat", "--json", "oss://bkt/acl/p.txt"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let lines = json_lines(&json.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["acl"], "public-read");
    assert_eq!(lines[0]["size"], 5);

    let text = local
        .ossmp()
        .args(["stat", "oss://bkt/acl/default.txt"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    let acl_line = text
        .lines()
        .find(|l| l.starts_with("ACL"))
        .unwrap_or_else(|| panic!("no ACL line in {text}"));
    assert!(acl_line.ends_with(" default"), "{acl_line}");
    assert_eq!(local.requests("GET /bkt/acl/default.txt?acl").len(), 1);
}
