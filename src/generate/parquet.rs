//! `generate --file-format parquet`: log files as AWS delivers them with
//! `file-format parquet`. The generators write text lines, header first,
//! into their `Sink`; this one reads them back, one column per field of
//! the header (underscore names, INT32 for version, ports, protocol,
//! tcp_flags and traffic_path, INT64 for packets, bytes, start and end,
//! strings for the rest, `-` as null), and writes GZIP-compressed row
//! groups of `ROW_GROUP_ROWS` rows. So a Parquet dataset holds exactly the
//! records of the text dataset of the same arguments.

use std::fs::File;
use std::io::{self, BufWriter};
use std::sync::Arc;

use parquet::basic::{Compression, GzipLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::flowlog::format::{Field, Format};

/// Rows per row group: files of the busy profile (50,000 records) get
/// four, so readers meet several. (AWS does not document its size.)
pub const ROW_GROUP_ROWS: usize = 16_384;

/// The Parquet type AWS gives a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int32,
    Int64,
    Text,
}

fn kind(f: &Field) -> Kind {
    match f {
        Field::Version
        | Field::SrcPort
        | Field::DstPort
        | Field::Protocol
        | Field::TcpFlags
        | Field::TrafficPath => Kind::Int32,
        Field::Packets | Field::Bytes | Field::Start | Field::End => Kind::Int64,
        _ => Kind::Text,
    }
}

/// One column's values of the row group being filled.
struct Col {
    kind: Kind,
    /// 1 where the row has a value, 0 for a null.
    defs: Vec<i16>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    texts: Vec<ByteArray>,
}

/// Text lines in, a Parquet file out.
pub(crate) struct ParquetSink {
    /// The file, until the header line gives the schema.
    out: Option<BufWriter<File>>,
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    level: u32,
    /// The end of the last `write_all`: a line not finished yet.
    partial: Vec<u8>,
    cols: Vec<Col>,
    rows: usize,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn pq(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e)
}

impl ParquetSink {
    pub(crate) fn new(w: BufWriter<File>, level: u32) -> ParquetSink {
        ParquetSink {
            out: Some(w),
            writer: None,
            level,
            partial: Vec::new(),
            cols: Vec::new(),
            rows: 0,
        }
    }

    /// Takes text: whole lines, the first the header, and perhaps the
    /// start of the next line.
    pub(crate) fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        let mut rest = b;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                self.line(&rest[..nl])?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..nl]);
                self.line(&line)?;
            }
            rest = &rest[nl + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.writer.is_none() {
            return self.header(line);
        }
        let mut tokens = line.split(|&b| b == b' ');
        for c in &mut self.cols {
            let t = tokens
                .next()
                .ok_or_else(|| invalid("a line with fewer fields than the header".into()))?;
            if t == b"-" {
                c.defs.push(0);
                continue;
            }
            c.defs.push(1);
            let text = std::str::from_utf8(t).map_err(|e| invalid(e.to_string()))?;
            let bad = |_| invalid(format!("'{text}' is not a number"));
            match c.kind {
                Kind::Int32 => c.i32s.push(text.parse().map_err(bad)?),
                Kind::Int64 => c.i64s.push(text.parse().map_err(bad)?),
                Kind::Text => c.texts.push(ByteArray::from(t.to_vec())),
            }
        }
        self.rows += 1;
        if self.rows == ROW_GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    /// The header line: the schema, and the file writer.
    fn header(&mut self, line: &[u8]) -> io::Result<()> {
        let text = std::str::from_utf8(line).map_err(|e| invalid(e.to_string()))?;
        let format = Format::parse(text).map_err(|e| invalid(e.to_string()))?;
        let mut schema = String::from("message flow_log {\n");
        for f in format.columns() {
            let name = f.parquet_name();
            let k = kind(f);
            schema.push_str(&match k {
                Kind::Int32 => format!("  optional int32 {name};\n"),
                Kind::Int64 => format!("  optional int64 {name};\n"),
                Kind::Text => format!("  optional binary {name} (STRING);\n"),
            });
            self.cols.push(Col {
                kind: k,
                defs: Vec::new(),
                i32s: Vec::new(),
                i64s: Vec::new(),
                texts: Vec::new(),
            });
        }
        schema.push('}');
        let schema = Arc::new(parse_message_type(&schema).map_err(pq)?);
        let level = GzipLevel::try_new(self.level).map_err(pq)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::GZIP(level))
            .set_created_by(format!("flowscope generate {}", env!("CARGO_PKG_VERSION")))
            .build();
        let out = self.out.take().expect("the file, before the header");
        self.writer = Some(SerializedFileWriter::new(out, schema, Arc::new(props)).map_err(pq)?);
        Ok(())
    }

    /// Writes the rows gathered as one row group.
    fn flush_group(&mut self) -> io::Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = w.next_row_group().map_err(pq)?;
        for c in &mut self.cols {
            let mut col = group
                .next_column()
                .map_err(pq)?
                .ok_or_else(|| invalid("fewer columns than the schema".into()))?;
            let defs = Some(&c.defs[..]);
            match c.kind {
                Kind::Int32 => col.typed::<Int32Type>().write_batch(&c.i32s, defs, None),
                Kind::Int64 => col.typed::<Int64Type>().write_batch(&c.i64s, defs, None),
                Kind::Text => col
                    .typed::<ByteArrayType>()
                    .write_batch(&c.texts, defs, None),
            }
            .map_err(pq)?;
            col.close().map_err(pq)?;
            c.defs.clear();
            c.i32s.clear();
            c.i64s.clear();
            c.texts.clear();
        }
        group.close().map_err(pq)?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; gives the file back.
    pub(crate) fn finish(mut self) -> io::Result<BufWriter<File>> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line)?;
        }
        self.flush_group()?;
        match self.writer.take() {
            Some(w) => w.into_inner().map_err(pq),
            None => Err(invalid("no header line: nothing to write".into())),
        }
    }
}
