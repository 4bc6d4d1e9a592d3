//! The official CRC-64 vectors (`crc64.json` of `oss-test-vectors`, each
//! case with its `source`): one-shot, streaming, pairwise combine and a whole multipart fold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use oss_model::crc64::{Crc64, Crc64Combiner, crc64, crc64_combine};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let doc: Value = serde_json::from_str(&oss_test_vectors::text("crc64.json")).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn input(case: &Value) -> Vec<u8> {
    match case["input_utf8"].as_str() {
        Some(s) => s.as_bytes().to_vec(),
        None => match case["input_hex_recipe"].as_str().unwrap() {
            "1024 x 0x00" => vec![0; 1024],
            "102400 x 0xFF" => vec![0xFF; 102_400],
            "bytes 0x00..0xFF" => (0..=255u8).collect(),
            other => panic!("unknown recipe {other}"),
        },
    }
}

#[test]
fn one_shot_and_streaming() {
    let mut checked = 0;
    for case in vectors().iter().filter(|c| c["kind"] == "crc64") {
        assert!(case["source"].is_string(), "{}", case["id"]);
        let data = input(case);
        let expected = hex(&case["crc64"]);
        assert_eq!(crc64(&data), expected, "{}", case["id"]);
        assert_eq!(
            crc64(&data).to_string(),
            case["crc64_decimal"].as_str().unwrap()
        );
        let mut h = Crc64::new();
        for chunk in data.chunks(7) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), expected, "{} streamed", case["id"]);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} crc64 vectors");
}

#[test]
fn combine_vectors() {
    let mut checked = 0;
    for case in vectors().iter().filter(|c| c["kind"] == "combine") {
        assert!(case["source"].is_string(), "{}", case["id"]);
        let (crc1, crc2) = (hex(&case["crc1"]), hex(&case["crc2"]));
        let len2 = case["len2"].as_u64().unwrap();
        let combined = hex(&case["combined"]);
        // The vector's parts really have those CRCs, so the case is self-consistent.
        assert_eq!(crc64(case["part1_utf8"].as_str().unwrap().as_bytes()), crc1);
        let part2 = case["part2_utf8"].as_str().unwrap().as_bytes();
        assert_eq!((crc64(part2), part2.len() as u64), (crc2, len2));

        assert_eq!(crc64_combine(crc1, crc2, len2), combined, "{}", case["id"]);
        let mut fold = Crc64Combiner::new();
        let len1 = case["part1_utf8"].as_str().unwrap().len() as u64;
        fold.push(crc1, len1);
        fold.push(crc2, len2);
        assert_eq!(fold.finish(), combined, "{} (combiner)", case["id"]);
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} combine vectors");
}

#[test]
fn multipart_fold_vector() {
    let case = vectors()
        .into_iter()
        .find(|c| c["kind"] == "multipart-combine")
        .unwrap();
    assert!(case["source"].is_string());
    let data: Vec<u8> = (0..205_800u32).map(|i| (i % 251) as u8).collect();
    let (mut acc, mut fold, mut off) = (0, Crc64Combiner::new(), 0usize);
    for part in case["parts"].as_array().unwrap() {
        let len = part["len"].as_u64().unwrap();
        let crc = crc64(&data[off..off + len as usize]);
        assert_eq!(
            crc.to_string(),
            part["part_crc64_decimal"].as_str().unwrap()
        );
        acc = crc64_combine(acc, crc, len);
        fold.push(crc, len);
        let running = part["running_combined_decimal"].as_str().unwrap();
        assert_eq!(acc.to_string(), running);
        assert_eq!(fold.finish().to_string(), running);
        off += len as usize;
    }
    assert_eq!(off, data.len());
    assert_eq!(acc, hex(&case["whole_object_crc64"]));
    assert_eq!(crc64(&data), acc);
}
