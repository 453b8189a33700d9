//! Response bodies written on a blocking thread (a ZIP, a workbook) and sent as they are written.

use bytes::Bytes;
use tokio::sync::mpsc;

/// A `Write` that sends its bytes to the client in chunks of about `chunk` bytes, waiting while
/// the client is slower than the writing. Once the response is gone (the client left), a write
/// fails with `BrokenPipe`, which stops the writer.
pub struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    buf: Vec<u8>,
    chunk: usize,
}

impl ChannelWriter {
    pub fn new(tx: mpsc::Sender<std::io::Result<Bytes>>, chunk: usize) -> Self {
        Self {
            tx,
            buf: Vec::with_capacity(chunk),
            chunk,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(self.chunk),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }

    /// Ends the body with `error` (after what was already sent), so that the client sees the
    /// download break rather than a complete-looking file. Nothing to do if the client left.
    pub fn fail(self, error: std::io::Error) {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = self.tx.blocking_send(Err(error));
        }
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.chunk {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn writes_go_out_in_chunks_and_fail_once_the_response_is_gone() {
        let (tx, mut rx) = mpsc::channel(4);
        let mut out = ChannelWriter::new(tx, 10);
        assert!(out.write_all(&[1; 4]).is_ok());
        assert!(rx.try_recv().is_err(), "under a chunk: kept");
        assert!(out.write_all(&[2; 8]).is_ok());
        let sent = rx.try_recv().map(|r| r.map(|b| b.len()).ok());
        assert_eq!(sent, Ok(Some(12)));
        assert!(out.write_all(&[3; 2]).is_ok());
        assert!(out.flush().is_ok());
        let sent = rx.try_recv().map(|r| r.map(|b| b.len()).ok());
        assert_eq!(sent, Ok(Some(2)));

        drop(rx);
        assert!(out.write_all(&[0; 3]).is_ok(), "under a chunk: buffered");
        let gone = out.write_all(&[0; 10]).map_err(|e| e.kind());
        assert_eq!(gone, Err(std::io::ErrorKind::BrokenPipe));
    }
}
