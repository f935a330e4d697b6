//! Arbitrary bytes as an SDR file. Framing, decoding, re-framing with
//! indefinite lengths, re-encoding and JSON output must never panic, and
//! what the reader accepts must survive its own round trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdrate::read::{self, Input, tlv};

/// Whether `data[from..to]` is padding: fill bytes (00 or FF) that the
/// reader skips, or nothing.
fn padding(data: &[u8], from: u64, to: u64) -> bool {
    from <= to
        && data[from as usize..to as usize]
            .iter()
            .all(|b| *b == 0 || *b == 0xFF)
}

fuzz_target!(|data: &[u8]| {
    let input = Input::from_bytes("fuzz", data.to_vec());
    let mut end = 0u64;
    // Every record decoded into the one before, as `rate` does.
    let mut reused = None;
    for item in input.records() {
        match item {
            Ok(rec) => {
                // Records follow one another, with nothing but padding
                // between them, and lie inside the input.
                assert!(
                    padding(data, end, rec.offset),
                    "a gap before {}",
                    rec.offset
                );
                end = rec.offset + rec.bytes.len() as u64;
                assert!(end <= data.len() as u64);
                let decoded = read::decode(rec.bytes);
                let into = read::decode_into(rec.bytes, &mut reused);
                assert_eq!(into.ok().map(|s| &*s), decoded.as_ref().ok());
                // The direct path accepts only what rasn reads alike.
                if let Some(direct) = read::canonical::decode(rec.bytes) {
                    let general = read::decode_general(rec.bytes).expect("rasn reads it too");
                    assert_eq!(direct, general);
                    assert_eq!(
                        serde_json::to_string(&direct).ok(),
                        serde_json::to_string(&general).ok()
                    );
                }
                match tlv::to_indefinite(rec.bytes) {
                    Ok(indefinite) => {
                        assert_eq!(tlv::element_len(&indefinite), Ok(indefinite.len()));
                        let again = read::decode(&indefinite);
                        if let Ok(sdr) = &decoded {
                            // Unknown items keep the bytes they were read
                            // from, so compare the values re-framed alike.
                            let twin = again.as_ref().expect("the indefinite twin decodes");
                            let reframe = |s: &sdrate::sdr::ServiceDetailRecord| {
                                tlv::to_indefinite(&rasn::ber::encode(s).expect("encodes"))
                                    .expect("re-frames")
                            };
                            assert_eq!(reframe(twin), reframe(sdr), "indefinite twin differs");
                        }
                    }
                    // A record that decodes is a well-formed tree, so it can
                    // always be re-framed.
                    Err(e) => assert!(decoded.is_err(), "decoded but cannot re-frame: {e}"),
                }
                if let Ok(sdr) = decoded {
                    // What decodes encodes, and reads back as the same value.
                    let bytes = rasn::ber::encode(&sdr).expect("a decoded SDR encodes");
                    let back = read::decode(&bytes).expect("a re-encoded SDR decodes");
                    assert_eq!(back, sdr);
                    // JSON output may refuse a value, but must not panic.
                    let _ = serde_json::to_string(&sdr);
                }
            }
            Err(broken) => {
                // A broken stretch is not framed, but it is read on from.
                assert!(
                    padding(data, end, broken.offset),
                    "a gap before {}",
                    broken.offset
                );
                assert!(!broken.bytes.is_empty());
                end = broken.offset + broken.bytes.len() as u64;
                assert!(end <= data.len() as u64);
            }
        }
    }
    assert!(padding(data, end, data.len() as u64), "a gap at the end");
});
