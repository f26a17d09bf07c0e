//! A GGUF file opened for candle's reader, without a system call per field.
//!
//! The metadata of a GGUF file holds the whole vocabulary, and candle reads it one small
//! field at a time, asking for the stream position before every string. On a plain `File`
//! that was a million `read` and `lseek` calls per model load; buffered and with the
//! position kept here, it is a few thousand reads. The calls were cheap on their own but
//! made a traced process (the air-gap test) take minutes to load a model.

use std::fs::File;
use std::io::{BufReader, Read, Result, Seek, SeekFrom};
use std::path::Path;

/// A buffered reader that knows its own position.
pub(crate) struct GgufReader<R = BufReader<File>> {
    inner: R,
    position: u64,
}

impl GgufReader {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        Ok(Self::new(BufReader::with_capacity(1 << 16, File::open(path)?)))
    }
}

impl<R: Read + Seek> GgufReader<R> {
    fn new(inner: R) -> Self {
        Self { inner, position: 0 }
    }
}

impl<R: Read> Read for GgufReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        let read = self.inner.read(buf)?;
        self.position += read as u64;
        Ok(read)
    }
}

impl<R: Seek> Seek for GgufReader<R> {
    fn seek(&mut self, to: SeekFrom) -> Result<u64> {
        if to == SeekFrom::Current(0) {
            return Ok(self.position);
        }
        self.position = self.inner.seek(to)?;
        Ok(self.position)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    #[test]
    fn the_position_follows_reads_and_seeks() {
        let mut reader = GgufReader::new(Cursor::new((0u8..100).collect::<Vec<u8>>()));
        let mut buffer = [0u8; 10];
        reader.read_exact(&mut buffer).unwrap();
        assert_eq!(reader.stream_position().unwrap(), 10);
        assert_eq!(reader.seek(SeekFrom::Current(5)).unwrap(), 15);
        reader.read_exact(&mut buffer[..1]).unwrap();
        assert_eq!(buffer[0], 15);
        assert_eq!(reader.seek(SeekFrom::End(-1)).unwrap(), 99);
        assert_eq!(reader.stream_position().unwrap(), 99);
        assert_eq!(reader.seek(SeekFrom::Start(3)).unwrap(), 3);
        reader.read_exact(&mut buffer[..1]).unwrap();
        assert_eq!((buffer[0], reader.stream_position().unwrap()), (3, 4));
    }
}
