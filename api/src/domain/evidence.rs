//! The rules of an evidence file that need no database: which media types a category takes, the
//! media type sniffed from the first bytes, a file name that is safe to store and to send back,
//! and the `Range` a download asks for.

use std::ops::Range;

use super::EvidenceCategory;

/// The bytes the sniffer needs: enough for PDF (`%PDF-`), JPEG, PNG and MP4 (`ftyp` at 4).
pub const SNIFF_BYTES: usize = 16;

/// The longest stored file name, in characters.
pub const FILE_NAME_MAX: usize = 200;

pub const PDF: &str = "application/pdf";
pub const JPEG: &str = "image/jpeg";
pub const PNG: &str = "image/png";
pub const MP4: &str = "video/mp4";

/// The media types a category accepts. The document-like categories take PDF, as the 2019 plan
/// asks for its materials in PDF; photos JPEG or PNG; videos MP4.
pub fn accepted(category: EvidenceCategory) -> &'static [&'static str] {
    match category {
        EvidenceCategory::Document
        | EvidenceCategory::Correspondence
        | EvidenceCategory::Text
        | EvidenceCategory::Statistics => &[PDF],
        EvidenceCategory::Photo => &[JPEG, PNG],
        EvidenceCategory::Video => &[MP4],
    }
}

/// The media type the first bytes show, among those any category accepts; `None` for anything
/// else (including a file too short to tell).
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head)?;
    [PDF, JPEG, PNG, MP4]
        .into_iter()
        .find(|known| *known == kind.mime_type())
}

/// A file name safe to store and to send back in `Content-Disposition`: the last path segment
/// (so `../../etc/passwd` is `passwd`), without control characters or leading dots, at most
/// [`FILE_NAME_MAX`] characters (keeping the extension), and `file` when nothing is left.
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ':' | '*' | '?' | '<' | '>' | '|'))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return "file".to_string();
    }
    let count = trimmed.chars().count();
    if count <= FILE_NAME_MAX {
        return trimmed.to_string();
    }
    // Keep a short extension; cut the stem.
    let (stem, ext) = match trimmed.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.chars().count() <= 10 => (stem, Some(ext)),
        _ => (trimmed, None),
    };
    let keep = FILE_NAME_MAX - ext.map_or(0, |e| e.chars().count() + 1);
    let stem: String = stem.chars().take(keep).collect();
    match ext {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

/// What a download serves for a `Range` header (RFC 9110 §14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No range, or one the server may ignore (several ranges, another unit, bad syntax):
    /// the whole file, `200`.
    Whole,
    /// One satisfiable range: `206` with these bytes.
    Part(Range<u64>),
    /// A range wholly past the end: `416`.
    Unsatisfiable,
}

/// Reads `bytes=a-b`, `bytes=a-` and `bytes=-n` against a file of `size` bytes.
pub fn range(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeAnswer::Whole;
    };
    if spec.contains(',') {
        return RangeAnswer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAnswer::Whole;
    };
    let number = |t: &str| -> Option<u64> {
        let t = t.trim();
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match (number(first), number(last)) {
        // The last n bytes.
        (None, Some(n)) if first.trim().is_empty() => {
            if n == 0 || size == 0 {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(size.saturating_sub(n)..size)
            }
        }
        (Some(start), None) if last.trim().is_empty() => {
            if start >= size {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(start..size)
            }
        }
        (Some(start), Some(end)) if start <= end => {
            if start >= size {
                RangeAnswer::Unsatisfiable
            } else {
                RangeAnswer::Part(start..end.saturating_add(1).min(size))
            }
        }
        _ => RangeAnswer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF_HEAD: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj";
    const PNG_HEAD: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG_HEAD: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01";
    const MP4_HEAD: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0mp42";

    #[test]
    fn the_first_bytes_tell_the_type() {
        assert_eq!(sniff(PDF_HEAD), Some(PDF));
        assert_eq!(sniff(PNG_HEAD), Some(PNG));
        assert_eq!(sniff(JPEG_HEAD), Some(JPEG));
        assert_eq!(sniff(MP4_HEAD), Some(MP4));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0\0\0\0\0\0\0"), None); // a type no category takes
        assert_eq!(sniff(b"plain text, not a pdf"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn each_category_takes_its_types() {
        use EvidenceCategory::*;
        for c in [Document, Correspondence, Text, Statistics] {
            assert_eq!(accepted(c), &[PDF]);
        }
        assert_eq!(accepted(Photo), &[JPEG, PNG]);
        assert_eq!(accepted(Video), &[MP4]);
    }

    #[test]
    fn file_names_lose_their_paths_and_controls() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            safe_file_name(r"C:\Users\a\遵义 验收报告.pdf"),
            "遵义 验收报告.pdf"
        );
        assert_eq!(safe_file_name("..\u{0}.hidden\r\n.pdf"), "hidden.pdf");
        assert_eq!(safe_file_name("a\"b;c.pdf"), "ab;c.pdf");
        assert_eq!(safe_file_name("../"), "file");
        assert_eq!(safe_file_name("..."), "file");
        let long = format!("{}.pdf", "长".repeat(300));
        let cut = safe_file_name(&long);
        assert_eq!(cut.chars().count(), FILE_NAME_MAX);
        assert!(cut.ends_with(".pdf"));
        let exact = "x".repeat(FILE_NAME_MAX);
        assert_eq!(safe_file_name(&exact), exact);
        let no_ext = "y".repeat(FILE_NAME_MAX + 1);
        assert_eq!(safe_file_name(&no_ext).chars().count(), FILE_NAME_MAX);
        // Only a short extension is kept: a long "extension" is part of the name, cut as such.
        let long_ext = format!("{}.{}", "x".repeat(150), "y".repeat(100));
        assert_eq!(
            safe_file_name(&long_ext),
            format!("{}.{}", "x".repeat(150), "y".repeat(49))
        );
        let dot_last = format!("{}.", "x".repeat(250));
        assert_eq!(safe_file_name(&dot_last), "x".repeat(FILE_NAME_MAX));
    }

    #[test]
    fn ranges_as_rfc_9110_reads_them() {
        use RangeAnswer::*;
        assert_eq!(range(None, 100), Whole);
        assert_eq!(range(Some("bytes=0-9"), 100), Part(0..10));
        assert_eq!(range(Some("bytes=90-"), 100), Part(90..100));
        assert_eq!(range(Some("bytes=-10"), 100), Part(90..100));
        assert_eq!(range(Some("bytes=-500"), 100), Part(0..100));
        assert_eq!(range(Some("bytes=95-200"), 100), Part(95..100));
        assert_eq!(range(Some("bytes=99-99"), 100), Part(99..100));
        assert_eq!(range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(range(Some("bytes=100-200"), 100), Unsatisfiable);
        assert_eq!(range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(range(Some("bytes=0-1,5-6"), 100), Whole);
        assert_eq!(range(Some("bytes=9-0"), 100), Whole);
        assert_eq!(range(Some("items=0-9"), 100), Whole);
        assert_eq!(range(Some("bytes=a-b"), 100), Whole);
        assert_eq!(range(Some("bytes=-"), 100), Whole);
        // Digits only: Rust's parser would take a sign, RFC 9110 does not.
        assert_eq!(range(Some("bytes=+5-9"), 100), Whole);
        assert_eq!(range(Some("bytes=5-+9"), 100), Whole);
    }
}
