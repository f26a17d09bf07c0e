//! Office files are zip archives. Before any parser inflates one, its directory is checked
//! against limits so a zip bomb disguised as a .docx or .xlsx fails as a bad file instead
//! of filling memory; entries we inflate ourselves are read through a hard cap as well,
//! because a hostile archive can lie about its sizes.

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::{Error, Result};

/// Most entries an office document may have.
const MAX_ENTRIES: usize = 20_000;
/// Most bytes all entries together may inflate to.
const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Most bytes one XML part we read may inflate to.
const MAX_PART_BYTES: u64 = 128 * 1024 * 1024;
/// Largest believable compression ratio for one entry (XML compresses up to ~100x).
const MAX_RATIO: u64 = 1_000;

pub(crate) type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// Opens `bytes` as a zip archive whose declared sizes are within the limits.
pub(crate) fn open<'a>(bytes: &'a [u8], kind: &str) -> Result<Archive<'a>> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|error| {
        Error::Corrupt(format!(
            "not a valid {kind} file (its zip structure is broken: {error})"
        ))
    })?;
    if archive.len() > MAX_ENTRIES {
        return Err(Error::Corrupt(format!(
            "the {kind} file has {} parts, over the limit of {MAX_ENTRIES} (a zip bomb?)",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|error| Error::Corrupt(format!("a part of the {kind} file is unreadable: {error}")))?;
        let (size, compressed) = (entry.size(), entry.compressed_size().max(1));
        total = total.saturating_add(size);
        if size / compressed > MAX_RATIO || total > MAX_UNPACKED_BYTES {
            return Err(Error::Corrupt(format!(
                "the {kind} file would unpack to more than {} MB (a zip bomb?)",
                MAX_UNPACKED_BYTES / 1024 / 1024
            )));
        }
    }
    Ok(archive)
}

/// The text of the entry `name`, or `None` when the archive has no such entry.
pub(crate) fn read_text(archive: &mut Archive<'_>, name: &str) -> Result<Option<String>> {
    let entry = match archive.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(error) => return Err(Error::Corrupt(format!("part {name} is unreadable: {error}"))),
    };
    let mut bytes = Vec::new();
    entry
        .take(MAX_PART_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| Error::Corrupt(format!("part {name} is unreadable: {error}")))?;
    if bytes.len() as u64 > MAX_PART_BYTES {
        return Err(Error::Corrupt(format!(
            "part {name} unpacks to more than {} MB (a zip bomb?)",
            MAX_PART_BYTES / 1024 / 1024
        )));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Error::Corrupt(format!("part {name} is not UTF-8 XML")))
}

/// Names of the entries, in archive order.
pub(crate) fn names(archive: &Archive<'_>) -> Vec<String> {
    archive.file_names().flatten().map(|name| name.into_owned()).collect()
}
