//! The tlog-tiles read API, read back by a client written from c2sp.org/tlog-tiles alone
//! (its own path encoding, bundle reader and tree hash, none of fairshare's), and by
//! cloudflare's `tlog_tiles` crate.

use crate::helpers::{TestApp, text};
use crate::transparency::{app_with_log, verifier};
use fairshare::ledger::checkpoint::open_checkpoint;
use sha2::{Digest, Sha256};

type Hash = [u8; 32];

/// `<N>` per the spec: zero-padded 3-digit elements, all but the last prefixed with `x`.
fn spec_index(n: u64) -> String {
    let mut elements = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        elements.insert(0, format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    elements.join("/")
}

/// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
fn spec_path(level: &str, n: u64, width: u64) -> String {
    let partial = if width == 256 {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("/v1/log/tile/{level}/{}{partial}", spec_index(n))
}

/// The tiles of one level that a tree of `size` leaves has: (index, width), full ones first.
fn spec_tiles(size: u64, level: u32) -> Vec<(u64, u64)> {
    let hashes = size >> (8 * level);
    let mut tiles: Vec<(u64, u64)> = (0..hashes / 256).map(|n| (n, 256)).collect();
    if !hashes.is_multiple_of(256) {
        tiles.push((hashes / 256, hashes % 256));
    }
    tiles
}

fn spec_leaf_hash(leaf: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0])
        .chain_update(leaf)
        .finalize()
        .into()
}

/// RFC 6962 MTH over hashes that are already the subtrees' hashes.
fn spec_mth(hashes: &[Hash]) -> Hash {
    if hashes.len() == 1 {
        return hashes[0];
    }
    let k = hashes.len().next_power_of_two() / 2;
    Sha256::new()
        .chain_update([1])
        .chain_update(spec_mth(&hashes[..k]))
        .chain_update(spec_mth(&hashes[k..]))
        .finalize()
        .into()
}

/// Status, headers and body of `GET path`.
async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// A tile's hashes, with the headers the spec asks for.
async fn fetch_tile(app: &TestApp, path: &str) -> Vec<Hash> {
    let (status, headers, body) = fetch(app, path).await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert!(
        header(&headers, "cache-control").contains("immutable"),
        "{path}"
    );
    assert_eq!(body.len() % 32, 0);
    body.chunks_exact(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

/// Reads an entry bundle: big-endian u16 lengths, each before its leaf.
fn spec_bundle(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut leaves = Vec::new();
    while !bytes.is_empty() {
        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
        leaves.push(bytes[2..2 + len].to_vec());
        bytes = &bytes[2 + len..];
    }
    leaves
}

/// Every leaf of the log through the entry bundles and level-0 tiles, each leaf checked
/// against its tile; the level-0 hashes.
async fn read_level_zero(app: &TestApp, size: u64) -> Vec<Hash> {
    let mut level_zero = Vec::new();
    for (n, width) in spec_tiles(size, 0) {
        let hashes = fetch_tile(app, &spec_path("0", n, width)).await;
        let (status, headers, bundle) = fetch(app, &spec_path("entries", n, width)).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), "application/octet-stream");
        let leaves = spec_bundle(&bundle);
        assert_eq!(leaves.len() as u64, width);
        for (leaf, hash) in leaves.iter().zip(&hashes) {
            assert_eq!(&spec_leaf_hash(leaf), hash, "tile {n}");
        }
        level_zero.extend(hashes);
    }
    level_zero
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spec_client_rebuilds_the_checkpoint_from_tiles_alone() {
    // 556 entries: two full tiles and one of width 44 at level 0; one of width 2 at level 1.
    let app = app_with_log(555).await;
    let (_, log) = verifier(&app).await;
    let (status, headers, note) = fetch(&app, "/v1/log/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let note = String::from_utf8(note).expect("text");
    let (checkpoint, _) = open_checkpoint(&note, std::slice::from_ref(&log)).expect("signed");
    assert_eq!(checkpoint.size, 556);

    let level_zero = read_level_zero(&app, checkpoint.size).await;
    assert_eq!(spec_mth(&level_zero), checkpoint.root);
    // Each level-1 hash is the MTH of a full level-0 tile.
    let level_one = fetch_tile(&app, &spec_path("1", 0, 2)).await;
    let full_tiles: Vec<Hash> = level_zero.chunks_exact(256).map(spec_mth).collect();
    assert_eq!(level_one, full_tiles);

    // Beyond the checkpoint, malformed, or not the spec's spelling: no tile.
    for (path, status) in [
        (spec_path("0", 2, 45), 404),
        (spec_path("0", 3, 256), 404),
        (spec_path("1", 0, 256), 404),
        (spec_path("2", 0, 1), 404),
        ("/v1/log/tile/0/2".to_owned(), 400),
        ("/v1/log/tile/0/x000/002".to_owned(), 400),
        ("/v1/log/tile/0/002.p/256".to_owned(), 400),
    ] {
        let (got, body) = text(&app, &path).await;
        assert_eq!(got, status, "{path}: {body}");
    }
    read_with_the_tlog_tiles_crate(&app, &note, checkpoint.size).await;
}

/// cloudflare's `tlog_tiles` parses the checkpoint, names the tiles a tree of its size has
/// and computes the tree hash from them. It writes the Go checksum database's paths, which
/// carry the tile height (`tile/8/<L>/<N>`); C2SP's drop it.
async fn read_with_the_tlog_tiles_crate(app: &TestApp, note: &str, size: u64) {
    let text_end = note.find("\n\n").expect("a note") + 1;
    let parsed = tlog_tiles::Checkpoint::from_bytes(&note.as_bytes()[..text_end])
        .expect("their parser reads it");
    assert_eq!(parsed.size(), size);
    let mut tiles = std::collections::HashMap::new();
    for tile in tlog_tiles::Tile::new_tiles(8, 0, size) {
        let c2sp = tile.path().replacen("tile/8/", "tile/", 1);
        let (status, _, body) = fetch(app, &format!("/v1/log/{c2sp}")).await;
        assert_eq!(status, 200, "{c2sp}");
        tiles.insert(tile.path(), body);
    }
    let reader = TileStore(tiles);
    let root = tlog_tiles::tlog::tree_hash(
        size,
        &tlog_tiles::TileHashReader::new(size, *parsed.hash(), &reader),
    )
    .expect("their tree hash, each tile checked against the checkpoint");
    assert_eq!(root.0, parsed.hash().0);
}

/// Tiles fetched over HTTP, by path, for `tlog_tiles`' reader.
struct TileStore(std::collections::HashMap<String, Vec<u8>>);

impl tlog_tiles::TileReader for TileStore {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(
        &self,
        tiles: &[tlog_tiles::Tile],
    ) -> Result<Vec<Vec<u8>>, tlog_tiles::tlog::Error> {
        tiles
            .iter()
            .map(|tile| {
                self.0
                    .get(&tile.path())
                    .cloned()
                    .ok_or(tlog_tiles::tlog::Error::IndexesNotInTree)
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}
