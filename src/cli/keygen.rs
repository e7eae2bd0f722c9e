//! `fairshare keygen`.

use super::CliError;
use crate::crypto::SecretKey;
use crate::keyfile;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the new key (refuses to overwrite).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: &KeygenArgs) -> Result<(), CliError> {
    let key =
        SecretKey::generate().map_err(|e| CliError::failed_because("cannot make a key", e))?;
    keyfile::write(&args.out, &key)
        .map_err(|e| CliError::input_because("cannot write the key file", e))?;
    let public = key.public_key();
    println!("public_key {}\nkey {}", public.to_base64(), public.key_id());
    Ok(())
}
