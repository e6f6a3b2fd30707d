//! Reading whole files named by an operator (a saved plan, a directory file) with an upper
//! bound, so that a wrong path cannot exhaust memory: a device such as `/dev/zero`, a
//! FIFO or a socket is refused before it is read, and a regular file is never read past
//! its bound, even one that grows while it is read.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why [`read_regular`] refused a file or could not read it.
#[derive(Debug)]
pub enum ReadError {
    /// The path names something other than a regular file (after following symbolic
    /// links); the value says what (`a FIFO`, `a character device`, `a directory`).
    NotRegular(&'static str),
    /// The file holds more than the bound (in bytes) allows.
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// The file could not be opened or read.
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge { limit } => {
                write!(f, "it is larger than {}", ByteSize(*limit))
            }
            ReadError::Io(e) => write!(f, "cannot read it: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A number of bytes for messages: in GiB, MiB or KiB when it is a whole number of them,
/// otherwise in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
        for (size, unit) in UNITS {
            if self.0 >= size && self.0 % size == 0 {
                return write!(f, "{} {unit}", self.0 / size);
            }
        }
        write!(f, "{} bytes", self.0)
    }
}

/// What a file type that is not a regular file is, for messages ("a FIFO", "a
/// directory", ...), as [`ReadError::NotRegular`] names it.
pub fn kind_of(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Reads the regular file at `path` whole, refusing it when it holds more than `limit`
/// bytes.
///
/// The path is checked before it is opened (opening a FIFO would wait for a writer) and
/// the opened file again; the size the metadata reports is checked before reading, and
/// the read stops one byte past the bound whatever the metadata said.
///
/// # Errors
/// [`ReadError::NotRegular`] for anything but a regular file, [`ReadError::TooLarge`] past
/// the bound, [`ReadError::Io`] when it cannot be opened or read. The errors never quote
/// the file's contents; callers add the file's name.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    // The path may have been replaced between the two looks.
    let opened = file.metadata().map_err(ReadError::Io)?;
    if !opened.is_file() {
        return Err(ReadError::NotRegular(kind_of(opened.file_type())));
    }
    let expected = usize::try_from(opened.len().min(limit)).unwrap_or(0);
    read_to_limit(file, limit, expected)
}

/// Reads `reader` to its end, refusing it past `limit` bytes; `expected` sizes the buffer.
fn read_to_limit(reader: impl Read, limit: u64, expected: usize) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    // Reserving is a hint only: a failure here shows up as the read's own error.
    let _ = bytes.try_reserve_exact(expected.saturating_add(1));
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_within_the_bound_is_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").expect("write");
        assert_eq!(read_regular(&path, 10).expect("read"), b"0123456789");
        let err = read_regular(&path, 9).expect_err("one byte too many");
        assert!(matches!(err, ReadError::TooLarge { limit: 9 }), "{err:?}");
        assert_eq!(err.to_string(), "it is larger than 9 bytes");
    }

    #[test]
    fn an_endless_stream_stops_one_byte_past_the_bound() {
        let err = read_to_limit(std::io::repeat(0), 1 << 20, 0).expect_err("endless");
        assert!(matches!(err, ReadError::TooLarge { limit } if limit == 1 << 20));
        assert_eq!(err.to_string(), "it is larger than 1 MiB");
    }

    #[test]
    fn a_sparse_file_past_the_bound_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sparse");
        let file = std::fs::File::create(&path).expect("create");
        // Holes only: the size is what the metadata says, nothing is allocated.
        file.set_len((8 << 30) + 1).expect("set_len");
        let err = read_regular(&path, 8 << 30).expect_err("too large");
        assert_eq!(err.to_string(), "it is larger than 8 GiB");
    }

    #[test]
    fn directories_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_regular(dir.path(), 10).expect_err("a directory");
        assert_eq!(err.to_string(), "it is a directory, not a regular file");
        let err = read_regular(&dir.path().join("missing"), 10).expect_err("missing");
        assert!(err.to_string().starts_with("cannot read it: "), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_before_they_are_opened() {
        let err = read_regular(Path::new("/dev/zero"), 1 << 30).expect_err("a device");
        assert_eq!(
            err.to_string(),
            "it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        // Opening it would wait for a writer forever: refused from its metadata.
        let err = read_regular(&fifo, 10).expect_err("a FIFO");
        assert_eq!(err.to_string(), "it is a FIFO, not a regular file");
    }

    #[test]
    fn sizes_read_in_their_largest_whole_unit() {
        assert_eq!(ByteSize(4 << 30).to_string(), "4 GiB");
        assert_eq!(ByteSize(3 << 20).to_string(), "3 MiB");
        assert_eq!(ByteSize(64 << 10).to_string(), "64 KiB");
        assert_eq!(ByteSize(1000).to_string(), "1000 bytes");
        assert_eq!(ByteSize(0).to_string(), "0 bytes");
    }
}
