//! Logging: `tracing` to stdout, text or JSON, quiet database drivers by default. `RUST_LOG`
//! overrides the filter.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests start many apps in one process) is harmless: keep the first.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .try_init(),
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(|| EscapeControls(std::io::stdout())),
            )
            .try_init(),
    };
}

/// Writes each text log line with its control characters escaped (`\n` as `\\n`, others as
/// `\\x1b` and the like), so no value a client sent, such as a refused filter holding a newline,
/// can start a line of its own and forge an entry. The line's own final newline is kept. The
/// formatter hands over one whole line per write.
struct EscapeControls<W>(W);

impl<W: std::io::Write> std::io::Write for EscapeControls<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let (body, end) = match buf.strip_suffix(b"\n") {
            Some(body) => (body, &b"\n"[..]),
            None => (buf, &b""[..]),
        };
        if !body.iter().any(|b| b.is_ascii_control() && *b != b'\t') {
            return self.0.write_all(buf);
        }
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in body {
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.push(b),
                b if b.is_ascii_control() => {
                    out.extend_from_slice(format!("\\x{b:02x}").as_bytes())
                }
                b => out.push(b),
            }
        }
        out.extend_from_slice(end);
        self.0.write_all(&out)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::EscapeControls;

    #[test]
    fn a_newline_in_a_value_cannot_start_a_log_line() {
        let mut out = EscapeControls(Vec::new());
        out.write_all(b"WARN refused q=a\nINFO forged\x1b[31m\n")
            .expect("write");
        assert_eq!(out.0, b"WARN refused q=a\\nINFO forged\\x1b[31m\n".to_vec());
    }
}
