//! C2SP tlog-tiles paths and bundles (<https://c2sp.org/tlog-tiles>). Pure: no IO.
//!
//! A tile is 256 consecutive hashes of one level of the tree: tile `N` of tile level `L`
//! holds the Merkle tree hashes at tree level `8 * L` with indexes `256 * N .. 256 * N + W`.
//! Those are complete subtrees, which the store keeps (`ledger::merkle`'s `NodeId`), so a
//! tile is read, never computed. `W` is 256 for a full tile, 1 to 255 for a partial one.
//! An entry bundle `N` holds the leaves of level-0 tile `N`, each after its length as a
//! big-endian u16.

use super::merkle::Hash;

/// Hashes in a full tile (tile height 8).
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Largest leaf an entry bundle can carry: its length prefix is a u16.
pub const MAX_BUNDLED_LEAF: usize = u16::MAX as usize;
/// Highest tile level a path may name (the spec's 0 to 63).
const MAX_TILE_LEVEL: u8 = 63;

/// What a tile path names: hashes of a tile level, or the leaves (an entry bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    Hashes { level: u8 },
    Entries,
}

/// A tile or entry bundle: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tile {
    pub kind: TileKind,
    pub index: u64,
    /// 1 to 256; 256 is a full tile.
    pub width: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tile path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])")]
pub struct TilePathError(pub String);

impl Tile {
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The tree level of the hashes a hash tile holds (level-0 tiles and bundles: 0).
    pub fn tree_level(&self) -> u32 {
        match self.kind {
            TileKind::Hashes { level } => u32::from(level) * TILE_HEIGHT,
            TileKind::Entries => 0,
        }
    }

    /// The index, at [`Tile::tree_level`], of the tile's first hash (for a bundle: its
    /// first leaf); `None` past u64.
    pub fn first(&self) -> Option<u64> {
        self.index.checked_mul(TILE_WIDTH)
    }

    /// The smallest tree that holds every hash (or leaf) of the tile; `None` past u64.
    pub fn tree_size_needed(&self) -> Option<u64> {
        let end = self.first()?.checked_add(self.width)?;
        let scale = 1u64.checked_shl(self.tree_level())?;
        end.checked_mul(scale)
    }

    /// The path after `<prefix>/`, as the spec writes it.
    pub fn to_path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Reads a path after `<prefix>/` (`tile/...`). Only the spec's own spelling is read:
    /// a path that [`Tile::to_path`] would write otherwise (a leading zero, an `x000`
    /// element, `.p/256`) is refused, so one tile has one URL.
    pub fn parse(path: &str) -> Result<Self, TilePathError> {
        let bad = || TilePathError(path.to_owned());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = match level {
            "entries" => TileKind::Entries,
            digits => TileKind::Hashes {
                level: decimal(digits)
                    .and_then(|l| u8::try_from(l).ok())
                    .filter(|l| *l <= MAX_TILE_LEVEL)
                    .ok_or_else(bad)?,
            },
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => (
                index,
                decimal(width)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(bad)?,
            ),
            None => (rest, TILE_WIDTH),
        };
        let tile = Self {
            kind,
            index: decode_index(index).ok_or_else(bad)?,
            width,
        };
        if tile.to_path() == path {
            Ok(tile)
        } else {
            Err(bad())
        }
    }
}

/// ASCII decimal digits only (no sign), fitting u64.
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `N` as zero-padded 3-digit elements, all but the last prefixed by `x`: 1234067 is
/// `x001/x234/067`.
pub fn encode_index(index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn decode_index(text: &str) -> Option<u64> {
    let mut elements: Vec<&str> = text.split('/').collect();
    let last = elements.pop()?;
    let mut index: u64 = 0;
    for element in elements
        .into_iter()
        .map(|e| e.strip_prefix('x'))
        .chain(std::iter::once(Some(last)))
    {
        let element = element.filter(|e| e.len() == 3)?;
        index = index.checked_mul(1000)?.checked_add(decimal(element)?)?;
    }
    Some(index)
}

/// The bytes of a hash tile: the hashes, concatenated.
pub fn hash_tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// A leaf too large for an entry bundle's u16 length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("leaf {index} has {len} bytes, more than an entry bundle's {MAX_BUNDLED_LEAF}")]
pub struct LeafTooLarge {
    pub index: u64,
    pub len: usize,
}

/// An entry bundle: each leaf after its length as a big-endian u16.
pub fn entry_bundle<'a>(
    leaves: impl IntoIterator<Item = (u64, &'a [u8])>,
) -> Result<Vec<u8>, LeafTooLarge> {
    let mut bundle = Vec::new();
    for (index, leaf) in leaves {
        let len = u16::try_from(leaf.len()).map_err(|_| LeafTooLarge {
            index,
            len: leaf.len(),
        })?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(leaf);
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples_read_and_write() {
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        let tile = Tile::parse("tile/1/x001/x234/067.p/8").expect("a tile");
        assert_eq!(
            tile,
            Tile {
                kind: TileKind::Hashes { level: 1 },
                index: 1234067,
                width: 8
            }
        );
        assert_eq!(
            Tile::parse("tile/entries/005").expect("a bundle"),
            Tile {
                kind: TileKind::Entries,
                index: 5,
                width: 256
            }
        );
    }

    #[test]
    fn only_the_canonical_spelling_reads() {
        for bad in [
            "tile/01/000",
            "tile/64/000",
            "tile/0/5",
            "tile/0/x000/005",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/07",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/entries/000.p/",
            "tile/0/",
            "tile/x/000",
            "tiles/0/000",
            "tile/0/+00",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_spec_tree_of_70000_needs_these_sizes() {
        // "a tree of size 70,000": 273 full level-0 tiles, one of width 112, a full level-1
        // tile, a level-1 tile of width 17 and a level-2 tile of width 1.
        let hashes = |level, index, width| Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        };
        assert_eq!(hashes(0, 272, 256).tree_size_needed(), Some(273 * 256));
        assert_eq!(hashes(0, 273, 112).tree_size_needed(), Some(70_000));
        assert_eq!(hashes(1, 0, 256).tree_size_needed(), Some(65_536));
        assert_eq!(hashes(1, 0, 17).tree_size_needed(), Some(17 * 256));
        assert_eq!(hashes(2, 0, 1).tree_size_needed(), Some(65_536));
        assert_eq!(hashes(63, 1, 256).tree_size_needed(), None);
    }

    #[test]
    fn a_bundle_reads_back_and_refuses_a_long_leaf() {
        let leaves: Vec<&[u8]> = vec![b"", b"abc", &[7; 300]];
        let bundle =
            entry_bundle(leaves.iter().enumerate().map(|(i, l)| (i as u64, *l))).expect("bundles");
        assert_eq!(&bundle[..7], &[0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(&bundle[7..9], &[1, 44]);
        assert_eq!(bundle.len(), 2 + 5 + 2 + 300);
        let long = vec![0u8; MAX_BUNDLED_LEAF + 1];
        assert_eq!(
            entry_bundle([(9, long.as_slice())]),
            Err(LeafTooLarge {
                index: 9,
                len: MAX_BUNDLED_LEAF + 1
            })
        );
    }
}
