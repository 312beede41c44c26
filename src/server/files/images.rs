//! Images are decoded with limits (a small file may claim to be enormous: a decompression
//! bomb), turned upright as their EXIF orientation says, and written again without any
//! metadata — no location, no camera — as a full-size copy and a thumbnail. Only PNG, JPEG,
//! GIF and WebP are decoded; SVG never is (it is a file like any other).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Widest and tallest image accepted, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// Most pixels accepted: 48 megapixels, more than any phone camera's.
pub const MAX_PIXELS: u64 = 48_000_000;
/// Most memory one decode may take (48 MP as RGBA, with room for the decoder's own).
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
pub use crate::protocol::THUMB_SIDE;

/// An image, made safe to serve.
pub struct Processed {
    /// The full-size copy, upright, without metadata.
    pub full: Vec<u8>,
    pub thumb: Vec<u8>,
    /// Their type (both the same): JPEG for photos, PNG for the rest.
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(
        "the image is too large ({0}×{1} pixels; at most {MAX_PIXELS} pixels, {MAX_SIDE} a side)"
    )]
    TooLarge(u32, u32),
    #[error("the image could not be read: {0}")]
    Unreadable(String),
}

fn unreadable(err: impl std::fmt::Display) -> ImageError {
    ImageError::Unreadable(err.to_string())
}

/// Decodes `bytes` (a `mime` image, as sniffed) within the limits, and writes it again.
pub fn process(bytes: &[u8], mime: &str) -> Result<Processed, ImageError> {
    let format = match mime {
        "image/png" => ImageFormat::Png,
        "image/jpeg" => ImageFormat::Jpeg,
        "image/gif" => ImageFormat::Gif,
        "image/webp" => ImageFormat::WebP,
        _ => return Err(unreadable("not an image")),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    // What the header claims, checked before a single pixel is decoded.
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(unreadable("no pixels"));
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge(width, height));
    }
    // Phones store photos as the sensor saw them and say in EXIF which way is up.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    image.apply_orientation(orientation);
    let (out, mime) = if format == ImageFormat::Jpeg && !image.color().has_alpha() {
        (ImageFormat::Jpeg, "image/jpeg")
    } else {
        (ImageFormat::Png, "image/png")
    };
    let thumb = image.thumbnail(THUMB_SIDE, THUMB_SIDE);
    Ok(Processed {
        width: image.width(),
        height: image.height(),
        full: encode(&image, out)?,
        thumb: encode(&thumb, out)?,
        mime,
    })
}

fn refusal(err: image::ImageError) -> ImageError {
    match err {
        image::ImageError::Limits(_) => ImageError::TooLarge(0, 0),
        other => unreadable(other),
    }
}

/// Writes `image` afresh: the encoders write pixels only, no EXIF, no text chunks.
fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
            image
                .to_rgb8()
                .write_with_encoder(encoder)
                .map_err(unreadable)?;
        }
        _ => image.write_to(&mut out, format).map_err(unreadable)?,
    }
    Ok(out.into_inner())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, _| Rgb([(x % 256) as u8, 0, 0]));
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    /// A JPEG `width`×`height` (wider than tall: left half red, right half blue) with an
    /// EXIF block saying "rotate 90° clockwise to view" and a GPS position.
    pub fn phone_jpeg(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let mut plain = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90)
            .encode_image(&image)
            .unwrap();
        let plain = plain.into_inner();
        // TIFF, big-endian: IFD0 with Orientation = 6 and a GPS IFD pointer; the GPS IFD
        // holds a latitude reference "N" and the marker text below.
        let mut tiff: Vec<u8> = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend([0, 2]); // two entries
        tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation, SHORT, 6
        tiff.extend([0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]); // GPS IFD at 38
        tiff.extend([0, 0, 0, 0]); // no next IFD
        tiff.extend([0, 1]); // GPS IFD: one entry
        tiff.extend([0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]); // GPSLatitudeRef "N"
        tiff.extend([0, 0, 0, 0]);
        tiff.extend(b"GPS-SECRET-PLACE");
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        let mut out = plain[..2].to_vec(); // SOI
        out.extend([0xff, 0xe1]);
        out.extend(((app1.len() + 2) as u16).to_be_bytes());
        out.extend(app1);
        out.extend(&plain[2..]);
        out
    }

    #[test]
    fn a_phone_photo_comes_out_upright_without_its_exif() {
        let photo = phone_jpeg(64, 32);
        assert!(photo.windows(16).any(|w| w == b"GPS-SECRET-PLACE"));
        let done = process(&photo, "image/jpeg").unwrap();
        assert_eq!((done.width, done.height), (32, 64), "turned upright");
        assert_eq!(done.mime, "image/jpeg");
        for bytes in [&done.full, &done.thumb] {
            assert!(!bytes.windows(4).any(|w| w == b"Exif"), "no EXIF left");
            assert!(!bytes.windows(16).any(|w| w == b"GPS-SECRET-PLACE"));
        }
        // Rotated clockwise: the red left half is now the top.
        let full = image::load_from_memory(&done.full).unwrap().to_rgb8();
        let top = full.get_pixel(16, 4);
        let bottom = full.get_pixel(16, 60);
        assert!(top[0] > 200 && top[2] < 60, "top is red: {top:?}");
        assert!(
            bottom[2] > 200 && bottom[0] < 60,
            "bottom is blue: {bottom:?}"
        );
    }

    #[test]
    fn thumbnails_fit_the_square() {
        let done = process(&png(1000, 500), "image/png").unwrap();
        assert_eq!((done.width, done.height), (1000, 500));
        let thumb = image::load_from_memory(&done.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        assert_eq!(done.mime, "image/png");
    }

    /// A valid 1×1 PNG whose header is changed to claim `width`×`height` (the CRC
    /// fixed, so only the size gives it away).
    pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_bomb_is_refused_before_it_is_decoded() {
        let bomb = png_claiming(50_000, 50_000);
        let started = std::time::Instant::now();
        assert!(matches!(
            process(&bomb, "image/png"),
            Err(ImageError::TooLarge(..))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Within each side's limit, too many pixels all the same.
        assert!(matches!(
            process(&png_claiming(10_000, 10_000), "image/png"),
            Err(ImageError::TooLarge(..))
        ));
    }

    #[test]
    fn truncated_and_fake_images_are_refused() {
        let whole = png(100, 100);
        assert!(process(&whole[..whole.len() / 2], "image/png").is_err());
        let photo = phone_jpeg(64, 64);
        assert!(process(&photo[..photo.len() / 3], "image/jpeg").is_err());
        assert!(process(b"GIF89a\x01\0", "image/gif").is_err());
        assert!(process(b"<svg/>", "image/svg+xml").is_err());
    }
}
