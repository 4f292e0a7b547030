//! Every vendored file matches the SHA-384 recorded in `assets/VENDORED.md`, and every vendored
//! file is recorded there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::Engine as _;
use sha2::{Digest, Sha384};

#[test]
fn vendored_files_match_their_recorded_hashes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let record = std::fs::read_to_string(dir.join("VENDORED.md")).unwrap();
    let mut checked = Vec::new();
    for line in record.lines().filter(|l| l.starts_with("| vendor/") || l.starts_with("| test/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (file, hash) = (cells[1], cells[6]);
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let actual = format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(Sha384::digest(&bytes)));
        assert_eq!(actual, hash, "{file} differs from VENDORED.md");
        checked.push(file.to_owned());
    }
    // every file under vendor/ and test/ is recorded
    for sub in ["vendor", "test"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = format!("{sub}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(checked.contains(&name), "{name} is not recorded in VENDORED.md");
        }
    }
    assert_eq!(checked.len(), 3);
}
