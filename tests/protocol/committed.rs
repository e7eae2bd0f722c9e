//! The committed vector files under tests/vectors/ must equal what the code produces now: a
//! change that breaks compatibility fails here.
//!
//! Regenerate (only for a deliberate protocol change) with:
//!   FAIRSHARE_WRITE_VECTORS=1 cargo test --test protocol

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::PathBuf;

/// Compares `generated` with the committed file `tests/vectors/<relative>` (after writing it
/// first when `FAIRSHARE_WRITE_VECTORS` is set) and returns the committed vectors.
pub fn check_or_write<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    relative: &str,
    generated: &T,
) -> T {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(relative);
    if std::env::var_os("FAIRSHARE_WRITE_VECTORS").is_some() {
        let dir = path.parent().expect("a vector file has a directory");
        std::fs::create_dir_all(dir).expect("vector directory");
        let mut json = serde_json::to_string_pretty(generated).expect("vectors serialize");
        json.push('\n');
        std::fs::write(&path, json).expect("write vectors");
    }
    let committed: T = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &committed, generated,
        "{relative} differs from the code's output: regenerate only if the change was intended"
    );
    committed
}
