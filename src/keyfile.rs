//! Secret key files: JSON, created with mode 0600, never overwritten.

use crate::crypto::{SecretKey, b64_decode, b64_encode};
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const FILE_TYPE: &str = "fairshare-ed25519-secret-key";

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path} is not a fairshare key file: {message}")]
    Format { path: String, message: String },
}

/// Writes `key` to a new file readable only by its owner.
pub fn write(path: &Path, key: &SecretKey) -> Result<(), KeyFileError> {
    let io = |e: std::io::Error| KeyFileError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let public = key.public_key();
    let body = json!({
        "type": FILE_TYPE,
        "secret_key": b64_encode(&key.seed()),
        "public_key": public.to_base64(),
        "key": public.key_id().to_string(),
    });
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(format!("{body:#}\n").as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)
}

pub fn read(path: &Path) -> Result<SecretKey, KeyFileError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| KeyFileError::Io {
        path: display.clone(),
        message: e.to_string(),
    })?;
    let format = |message: &str| KeyFileError::Format {
        path: display.clone(),
        message: message.to_owned(),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| format(&e.to_string()))?;
    if value["type"] != FILE_TYPE {
        return Err(format("missing \"type\": \"fairshare-ed25519-secret-key\""));
    }
    let seed = value["secret_key"]
        .as_str()
        .ok_or_else(|| format("missing \"secret_key\""))?;
    let seed: [u8; 32] = b64_decode(seed)
        .map_err(|e| format(&e.to_string()))?
        .try_into()
        .map_err(|_| format("\"secret_key\" is not 32 bytes"))?;
    Ok(SecretKey::from_seed(&seed))
}

/// Reads the key at `path`, creating it first when the file does not exist.
pub fn read_or_create(path: &Path) -> Result<SecretKey, KeyFileError> {
    if !path.exists() {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| KeyFileError::Io {
                path: parent.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let key = SecretKey::generate().map_err(|e| KeyFileError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        write(path, &key)?;
        return Ok(key);
    }
    read(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_with_owner_only_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        let key = read_or_create(&path).expect("created");
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(read(&path).expect("reads").seed(), key.seed());
        assert!(write(&path, &key).is_err(), "never overwrites");
        std::fs::write(dir.path().join("bad"), "{}").expect("write");
        assert!(matches!(
            read(&dir.path().join("bad")),
            Err(KeyFileError::Format { .. })
        ));
    }
}
