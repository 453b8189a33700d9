//! Photo albums as PDF (the 2019 plan asks for its materials in PDF): the photos of one record,
//! one A4 page each, scaled to fit. JPEG goes in as it is (PDF reads JPEG natively); PNG is
//! decoded and stored deflated, without its alpha channel.

use std::io::Cursor;

use lopdf::{
    Document, Object, Stream,
    content::{Content, Operation},
    dictionary,
};

/// A4 in points, and the margin around each photo.
const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 36.0;

/// A photo ready for a PDF page: its size, colour space, and the image stream's content.
struct Image {
    width: u32,
    height: u32,
    color_space: &'static str,
    /// `DCTDecode` for JPEG as it is; `None` for raw samples (to be deflated).
    filter: Option<&'static str>,
    data: Vec<u8>,
}

/// Width, height and number of components of a baseline or progressive JPEG, from its frame
/// header (SOF).
fn jpeg_frame(bytes: &[u8]) -> Option<(u32, u32, u8)> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        // Markers may be padded with 0xFF.
        while *bytes.get(at)? == 0xFF && *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = bytes.get(at + 4..at + 2 + len)?;
            let height = u32::from(u16::from_be_bytes([*seg.get(1)?, *seg.get(2)?]));
            let width = u32::from(u16::from_be_bytes([*seg.get(3)?, *seg.get(4)?]));
            return Some((width, height, *seg.get(5)?));
        }
        at += 2 + len;
    }
}

fn image(bytes: &[u8]) -> anyhow::Result<Image> {
    if let Some((width, height, components)) = jpeg_frame(bytes) {
        let color_space = match components {
            1 => "DeviceGray",
            3 => "DeviceRGB",
            4 => "DeviceCMYK",
            n => anyhow::bail!("a JPEG with {n} components"),
        };
        return Ok(Image {
            width,
            height,
            color_space,
            filter: Some("DCTDecode"),
            data: bytes.to_vec(),
        });
    }
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info()?;
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or_else(|| anyhow::anyhow!("a PNG too large to decode"))?
    ];
    let info = reader.next_frame(&mut buf)?;
    buf.truncate(info.buffer_size());
    let (channels, color_space) = match info.color_type {
        png::ColorType::Grayscale => (1, "DeviceGray"),
        png::ColorType::GrayscaleAlpha => (2, "DeviceGray"),
        png::ColorType::Rgb => (3, "DeviceRGB"),
        png::ColorType::Rgba => (4, "DeviceRGB"),
        png::ColorType::Indexed => anyhow::bail!("an indexed PNG left unexpanded"),
    };
    // The colour samples of each pixel, its alpha dropped.
    let keep = if channels % 2 == 0 {
        channels - 1
    } else {
        channels
    };
    let data = if keep == channels {
        buf
    } else {
        buf.chunks_exact(channels)
            .flat_map(|px| px[..keep].iter().copied())
            .collect()
    };
    Ok(Image {
        width: info.width,
        height: info.height,
        color_space,
        filter: None,
        data,
    })
}

/// An album of `photos` (JPEG or PNG bytes, in order) titled `title` (ASCII), one page each.
pub fn album(title: &str, photos: &[Vec<u8>]) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut kids: Vec<Object> = Vec::new();
    for bytes in photos {
        let img = image(bytes)?;
        let mut dict = dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => i64::from(img.width),
            "Height" => i64::from(img.height),
            "ColorSpace" => img.color_space,
            "BitsPerComponent" => 8,
        };
        if let Some(filter) = img.filter {
            dict.set("Filter", filter);
        }
        let mut stream = Stream::new(dict, img.data);
        if img.filter.is_none() {
            stream.compress()?;
        }
        let image_id = doc.add_object(stream);
        // Fit inside the margins, keeping the proportions; centred.
        let (w, h) = (img.width.max(1) as f32, img.height.max(1) as f32);
        let scale = ((PAGE.0 - 2.0 * MARGIN) / w).min((PAGE.1 - 2.0 * MARGIN) / h);
        let (dw, dh) = (w * scale, h * scale);
        let (x, y) = ((PAGE.0 - dw) / 2.0, (PAGE.1 - dh) / 2.0);
        let content = Content {
            operations: vec![
                Operation::new("q", vec![]),
                Operation::new(
                    "cm",
                    vec![dw.into(), 0.into(), 0.into(), dh.into(), x.into(), y.into()],
                ),
                Operation::new("Do", vec!["Im0".into()]),
                Operation::new("Q", vec![]),
            ],
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode()?));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), PAGE.0.into(), PAGE.1.into()],
            "Contents" => content_id,
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => image_id } },
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! {
        "Title" => Object::string_literal(title),
        "Producer" => Object::string_literal("xiezuo"),
    });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG of `w`×`h` RGBA pixels.
    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, w, h);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("header");
            let pixels: Vec<u8> = (0..w * h).flat_map(|i| [i as u8, 10, 20, 255]).collect();
            writer.write_image_data(&pixels).expect("pixels");
        }
        out
    }

    /// The smallest JPEG frame header a reader needs: SOI, an APP0 to skip, SOF0 of 640×480
    /// with 3 components.
    fn jpeg() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        b.extend([0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03]);
        b.extend([0u8; 9]);
        b.extend([0xFF, 0xD9]);
        b
    }

    #[test]
    fn jpeg_frames_are_read_past_other_segments() {
        assert_eq!(jpeg_frame(&jpeg()), Some((640, 480, 3)));
        assert_eq!(jpeg_frame(b"%PDF-1.7"), None);
        assert_eq!(jpeg_frame(&[0xFF, 0xD8, 0xFF]), None);
    }

    #[test]
    fn an_album_has_one_page_per_photo() {
        let pdf = album("project-1", &[png(3, 2), jpeg(), png(1, 1)]).expect("album");
        let doc = Document::load_mem(&pdf).expect("a PDF lopdf reads back");
        assert_eq!(doc.get_pages().len(), 3);
        // The PNG's alpha is dropped: 3 × 2 pixels of 3 samples.
        let page = doc.get_pages()[&1];
        let resources = doc
            .get_dictionary(page)
            .and_then(|p| p.get(b"Resources"))
            .and_then(Object::as_dict)
            .expect("resources");
        let image_id = resources
            .get(b"XObject")
            .and_then(Object::as_dict)
            .and_then(|x| x.get(b"Im0"))
            .and_then(Object::as_reference)
            .expect("image");
        let stream = doc
            .get_object(image_id)
            .and_then(Object::as_stream)
            .expect("stream");
        assert_eq!(stream.decompressed_content().expect("samples").len(), 18);
        assert!(album("bad", &[b"not an image".to_vec()]).is_err());
    }
}
