//! The audit export file: a portable, versioned copy of everything needed to check a ledger
//! without a node. Layout (all integers big-endian):
//!
//! ```text
//! "VGAUDIT\0"  u32 version (1)
//! frames: u8 kind, u32 body length, body
//!   1 Genesis      the genesis file (TOML)
//!   2 Event        an event's canonical encoding            (ascending creator, sequence, id)
//!   3 Order        u64 index, order record                  (indexes 0, 1, 2, ...)
//!   4 Transaction  u64 index, transaction record            (indexes 0, 1, 2, ...)
//!   5 State        u32 key length, key, value               (governance state, ascending keys)
//!   6 Evidence     u32 length, event, u32 length, event     (two events forking one creator)
//!   255 End        u64 events ordered, u64 transactions, chain head, order chain head, u64 frames
//! ```
//!
//! Every byte is checked by the verifier: framing and section order here, the content by
//! signatures, hash chains, the replay of consensus and the replay of governance.

use std::io::{Read, Write};
use votegraph_storage::{OrderRecord, TransactionRecord};

pub const MAGIC: &[u8; 8] = b"VGAUDIT\0";
pub const VERSION: u32 = 1;
/// Largest frame body (a genesis file, an event, a state entry).
pub const FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Genesis(String),
    Event(Vec<u8>),
    Order(u64, OrderRecord),
    Transaction(u64, TransactionRecord),
    State(Vec<u8>, Vec<u8>),
    Evidence(Vec<u8>, Vec<u8>),
    End(Totals),
}

/// What the ledger adds up to, as the exporter read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Totals {
    pub events_ordered: u64,
    pub transactions: u64,
    pub chain_head: [u8; 32],
    pub order_chain_head: [u8; 32],
    /// Frames before this one.
    pub frames: u64,
}

/// A file that is not a well-formed export, with the byte offset where it went wrong.
#[derive(Debug, thiserror::Error)]
#[error("byte {offset}: {detail}")]
pub struct FormatError {
    pub offset: u64,
    pub detail: String,
}

impl Frame {
    fn kind(&self) -> u8 {
        match self {
            Frame::Genesis(_) => 1,
            Frame::Event(_) => 2,
            Frame::Order(..) => 3,
            Frame::Transaction(..) => 4,
            Frame::State(..) => 5,
            Frame::Evidence(..) => 6,
            Frame::End(_) => 255,
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            Frame::Genesis(text) => text.as_bytes().to_vec(),
            Frame::Event(bytes) => bytes.clone(),
            Frame::Order(index, record) => [&index.to_be_bytes()[..], &record.encode()].concat(),
            Frame::Transaction(index, record) => {
                [&index.to_be_bytes()[..], &record.encode()].concat()
            }
            Frame::State(key, value) | Frame::Evidence(key, value) => {
                let mut out = (key.len() as u32).to_be_bytes().to_vec();
                out.extend_from_slice(key);
                if matches!(self, Frame::Evidence(..)) {
                    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
                }
                out.extend_from_slice(value);
                out
            }
            Frame::End(t) => {
                let mut out = t.events_ordered.to_be_bytes().to_vec();
                out.extend_from_slice(&t.transactions.to_be_bytes());
                out.extend_from_slice(&t.chain_head);
                out.extend_from_slice(&t.order_chain_head);
                out.extend_from_slice(&t.frames.to_be_bytes());
                out
            }
        }
    }

    fn parse(kind: u8, body: Vec<u8>) -> Result<Frame, String> {
        let mut cursor = Cursor {
            bytes: &body,
            at: 0,
        };
        let frame = match kind {
            1 => {
                Frame::Genesis(String::from_utf8(body.clone()).map_err(|_| "genesis is not UTF-8")?)
            }
            2 => Frame::Event(body.clone()),
            3 => {
                let index = cursor.u64()?;
                let record = OrderRecord::decode("order", &index.to_be_bytes(), cursor.rest())
                    .map_err(|e| e.to_string())?;
                Frame::Order(index, record)
            }
            4 => {
                let index = cursor.u64()?;
                let record =
                    TransactionRecord::decode("transactions", &index.to_be_bytes(), cursor.rest())
                        .map_err(|e| e.to_string())?;
                Frame::Transaction(index, record)
            }
            5 => {
                let key = cursor.sized()?;
                Frame::State(key, cursor.rest().to_vec())
            }
            6 => {
                let first = cursor.sized()?;
                let second = cursor.sized()?;
                cursor.finish()?;
                Frame::Evidence(first, second)
            }
            255 => {
                let totals = Totals {
                    events_ordered: cursor.u64()?,
                    transactions: cursor.u64()?,
                    chain_head: cursor.array()?,
                    order_chain_head: cursor.array()?,
                    frames: cursor.u64()?,
                };
                cursor.finish()?;
                Frame::End(totals)
            }
            other => return Err(format!("unknown frame kind {other}")),
        };
        Ok(frame)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("frame body ends early (needs {n} more bytes)"))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn array(&mut self) -> Result<[u8; 32], String> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    fn sized(&mut self) -> Result<Vec<u8>, String> {
        let n = u32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes")) as usize;
        Ok(self.take(n)?.to_vec())
    }

    fn rest(&mut self) -> &'a [u8] {
        let out = &self.bytes[self.at..];
        self.at = self.bytes.len();
        out
    }

    fn finish(&self) -> Result<(), String> {
        if self.at != self.bytes.len() {
            return Err(format!(
                "{} bytes after the frame's fields",
                self.bytes.len() - self.at
            ));
        }
        Ok(())
    }
}

/// Writes the header, then frames.
pub struct ExportWriter<W: Write> {
    out: W,
    pub frames: u64,
}

impl<W: Write> ExportWriter<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_be_bytes())?;
        Ok(ExportWriter { out, frames: 0 })
    }

    pub fn write(&mut self, frame: &Frame) -> std::io::Result<()> {
        let body = frame.body();
        self.out.write_all(&[frame.kind()])?;
        self.out.write_all(&(body.len() as u32).to_be_bytes())?;
        self.out.write_all(&body)?;
        self.frames += 1;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads frames with their byte offsets, after checking the header.
pub struct ExportReader<R: Read> {
    input: R,
    offset: u64,
    ended: bool,
}

impl<R: Read> ExportReader<R> {
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let mut header = [0u8; 12];
        input.read_exact(&mut header).map_err(|_| FormatError {
            offset: 0,
            detail: "shorter than the 12-byte header".into(),
        })?;
        if &header[..8] != MAGIC {
            return Err(FormatError {
                offset: 0,
                detail: "not a votegraph audit export (bad magic)".into(),
            });
        }
        let version = u32::from_be_bytes(header[8..].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(FormatError {
                offset: 8,
                detail: format!("export version {version}; this verifier reads {VERSION}"),
            });
        }
        Ok(ExportReader {
            input,
            offset: 12,
            ended: false,
        })
    }

    /// The next frame and its offset; None after the End frame (anything after it is an error).
    pub fn next_frame(&mut self) -> Result<Option<(u64, Frame)>, FormatError> {
        let offset = self.offset;
        let fail = |detail: String| FormatError { offset, detail };
        let mut head = [0u8; 5];
        let read = read_fully(&mut self.input, &mut head).map_err(|e| fail(e.to_string()))?;
        if self.ended {
            return match read {
                0 => Ok(None),
                _ => Err(fail("bytes after the End frame".into())),
            };
        }
        if read < head.len() {
            return Err(fail("the file ends without an End frame".into()));
        }
        let length = u32::from_be_bytes(head[1..].try_into().expect("4 bytes")) as usize;
        if length > FRAME_BYTES_MAX {
            return Err(fail(format!(
                "frame of {length} bytes, more than {FRAME_BYTES_MAX}"
            )));
        }
        let mut body = vec![0u8; length];
        if read_fully(&mut self.input, &mut body).map_err(|e| fail(e.to_string()))? < length {
            return Err(fail("the file ends inside a frame".into()));
        }
        self.offset += 5 + length as u64;
        let frame = Frame::parse(head[0], body).map_err(fail)?;
        self.ended = matches!(frame, Frame::End(_));
        Ok(Some((offset, frame)))
    }
}

fn read_fully(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_trailing_bytes_are_refused() {
        let frames = vec![
            Frame::Genesis("chain_id = \"t\"".into()),
            Frame::Event(vec![1, 2, 3]),
            Frame::State(b"gov/x".to_vec(), vec![9]),
            Frame::Evidence(vec![1], vec![2, 3]),
            Frame::End(Totals {
                events_ordered: 1,
                transactions: 2,
                chain_head: [3; 32],
                order_chain_head: [4; 32],
                frames: 4,
            }),
        ];
        let mut writer = ExportWriter::new(Vec::new()).unwrap();
        for frame in &frames {
            writer.write(frame).unwrap();
        }
        let mut bytes = writer.finish().unwrap();
        let mut reader = ExportReader::new(&bytes[..]).unwrap();
        let mut read = Vec::new();
        while let Some((_, frame)) = reader.next_frame().unwrap() {
            read.push(frame);
        }
        assert_eq!(read, frames);
        bytes.push(0);
        let mut reader = ExportReader::new(&bytes[..]).unwrap();
        let error = loop {
            match reader.next_frame() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("trailing byte accepted"),
                Err(e) => break e,
            }
        };
        assert!(error.detail.contains("after the End frame"), "{error}");
    }
}
