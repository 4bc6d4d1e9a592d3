//! The manual Complete after a lost answer, against oss-local: with the parts' sizes and
//! CRC-64s known, a `NoSuchUpload` (the lost Complete took effect) is confirmed with HeadObject
//! and reported as success; with ETags only it stays an error, since nothing tells our object
//! from another writer's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use oss_multipart::{Client, ObjectOptions, PartBody, PartOutput, UploadedPart};

/// Starts an upload of `key` with two parts of `seed`'s data; returns its id and the parts.
async fn two_parts(client: &Client, key: &str, seed: u64) -> (String, Vec<PartOutput>, Vec<u8>) {
    let none = ObjectOptions::new();
    let id = client
        .initiate_upload(BUCKET, key, &none)
        .await
        .unwrap()
        .upload_id;
    let body = data(102_400 + 777, seed);
    let mut parts = Vec::new();
    for (n, range) in [(1, 0..102_400), (2, 102_400..body.len())] {
        let part = PartBody::Bytes(body[range].to_vec().into());
        parts.push(
            client
                .upload_part(BUCKET, key, &id, n, part, &none)
                .await
                .unwrap(),
        );
    }
    (id, parts, body)
}

#[tokio::test]
async fn a_second_complete_of_the_same_parts_is_confirmed_by_head() {
    let server = server().await;
    let client = client(&server.endpoint());
    let none = ObjectOptions::new();
    let (id, parts, body) = two_parts(&client, "again", 1).await;
    let first = client
        .complete_upload(BUCKET, "again", &id, &parts, &none)
        .await
        .unwrap();
    assert!(!first.confirmed_by_head);
    // The caller never saw that answer and completes again: the upload id is gone.
    let again = client
        .complete_upload(BUCKET, "again", &id, parts.iter(), &none)
        .await
        .unwrap();
    assert!(again.confirmed_by_head);
    assert_eq!(again.etag, first.etag);
    assert_eq!(again.crc64, Some(oss_multipart_core::crc64(&body)));
    // ETags only: nothing to confirm with, so NoSuchUpload is the answer.
    let pairs: Vec<(u32, String)> = parts
        .iter()
        .map(|p| (p.part_number, p.etag.clone()))
        .collect();
    let err = client
        .complete_upload(BUCKET, "again", &id, &pairs, &none)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code(), "NoSuchUpload");
    // Another object under the key: not ours, so NoSuchUpload again.
    client
        .put_object(BUCKET, "again", body[..1000].to_vec())
        .await
        .unwrap();
    let err = client
        .complete_upload(BUCKET, "again", &id, &parts, &none)
        .await
        .unwrap_err();
    assert_eq!(err.service_error().unwrap().code(), "NoSuchUpload");
    // Listed parts carry sizes and CRCs too.
    let (id, parts, _) = two_parts(&client, "listed", 2).await;
    use futures::TryStreamExt as _;
    let listed: Vec<_> = client
        .list_parts(BUCKET, "listed", &id)
        .try_collect()
        .await
        .unwrap();
    let as_parts: Vec<UploadedPart> = listed.iter().map(UploadedPart::from).collect();
    assert_eq!(
        as_parts,
        parts.iter().map(UploadedPart::from).collect::<Vec<_>>()
    );
    client
        .complete_upload(BUCKET, "listed", &id, as_parts.clone(), &none)
        .await
        .unwrap();
    let again = client
        .complete_upload(BUCKET, "listed", &id, as_parts, &none)
        .await
        .unwrap();
    assert!(again.confirmed_by_head);
    server.shutdown().await;
}

/// oss-local drops the connection of every Complete, sometimes after completing (a lost
/// answer), sometimes mid-body (nothing happened). With sizes and CRCs known, each call still
/// ends with the right object; with ETags only, a lost answer is reported as a network error.
#[tokio::test]
async fn lost_complete_answers_are_retried_and_confirmed() {
    let mut config = local_config();
    config.faults.drop_rate = 1.0;
    config.faults.ops = vec![oss_local::FaultOp::Complete];
    config.faults.seed = 17;
    let server = server_with(config).await;
    let client = client(&server.endpoint());
    let none = ObjectOptions::new();
    let mut confirmed = 0;
    for i in 0..6 {
        let key = format!("lost/{i}");
        let (id, parts, body) = two_parts(&client, &key, 10 + i).await;
        let out = client
            .complete_upload(BUCKET, &key, &id, &parts, &none)
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        assert!(
            out.confirmed_by_head,
            "every answer is lost, so HEAD decides"
        );
        confirmed += 1;
        let head = client.head_object(BUCKET, &key).await.unwrap();
        assert_eq!(head.content_length, body.len() as u64);
        assert_eq!(head.crc64, Some(oss_multipart_core::crc64(&body)));
    }
    assert_eq!(confirmed, 6);
    let (id, parts, _) = two_parts(&client, "lost/etag-only", 99).await;
    let pairs: Vec<(u32, String)> = parts
        .iter()
        .map(|p| (p.part_number, p.etag.clone()))
        .collect();
    let err = client
        .complete_upload(BUCKET, "lost/etag-only", &id, &pairs, &none)
        .await
        .unwrap_err();
    assert!(err.is_network(), "{err:?}");
    server.shutdown().await;
}
