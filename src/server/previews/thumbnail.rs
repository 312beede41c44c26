//! A card's picture as Natter serves it: decoded with limits (a small file claiming
//! 50,000 × 50,000 pixels is refused before any pixel is allocated), shrunk to fit
//! [`SIDE`] × [`SIDE`], flattened onto white and re-encoded as JPEG. Whatever the linked
//! site sent — its metadata, its format, a script in an SVG — is not passed on: only
//! pixels are, and only from PNG, JPEG, GIF and WebP, recognised by their bytes.

use std::io::Cursor;

use image::{DynamicImage, ImageReader, Limits, RgbImage};

/// Longest side of a thumbnail, in pixels: a card is at most this wide on a desktop.
pub const SIDE: u32 = 400;
/// Largest picture decoded, per side; larger ones get no thumbnail.
const MAX_SIDE: u32 = 8_192;
/// Most memory one decode may take.
const MAX_ALLOC: u64 = 128 << 20;
/// JPEG quality: small files, no visible blocks at card size.
const QUALITY: u8 = 80;

/// Why a picture gave no thumbnail.
#[derive(Debug, thiserror::Error)]
#[error("no thumbnail: {0}")]
pub struct Refused(String);

/// The thumbnail of `bytes`, as JPEG.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, Refused> {
    let refuse = |err: image::ImageError| Refused(err.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|err| Refused(err.to_string()))?;
    if reader.format().is_none() {
        return Err(Refused("not a PNG, JPEG, GIF or WebP picture".into()));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let picture = reader.decode().map_err(refuse)?;
    // Only ever smaller: a small picture keeps its size.
    let small = if picture.width() > SIDE || picture.height() > SIDE {
        picture.thumbnail(SIDE, SIDE)
    } else {
        picture
    };
    let flat = on_white(small);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&flat)
        .map_err(refuse)?;
    Ok(out)
}

/// JPEG has no transparency: what was transparent shows as white, as on a light card.
fn on_white(picture: DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.into_rgb8();
    }
    let rgba = picture.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u32 * a as u32 + 255 * (255 - a as u32)) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

/// A name for a thumbnail: the hash of its bytes, so one picture is kept once.
pub fn name_of(jpeg: &[u8]) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(jpeg);
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = image::RgbaImage::from_fn(width, height, |x, _| {
            image::Rgba([(x % 256) as u8, 10, 200, if x < 5 { 0 } else { 255 }])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgba8(picture)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_picture_becomes_a_small_jpeg() {
        let jpeg = thumbnail(&png(1200, 600)).unwrap();
        assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "JPEG");
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (SIDE, SIDE / 2));
        // Transparent pixels came out white.
        let corner = back.to_rgb8().get_pixel(0, 0).0;
        assert!(corner.iter().all(|&c| c > 240), "{corner:?}");
        assert_eq!(name_of(&jpeg).len(), 32);
    }

    #[test]
    fn small_pictures_stay_their_size() {
        let jpeg = thumbnail(&png(40, 30)).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (40, 30));
    }

    #[test]
    fn bombs_scripts_and_broken_files_give_none() {
        // A 1×1 PNG whose header claims 50,000 × 50,000: refused from the header.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        assert!(thumbnail(&bomb).is_err());
        let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(thumbnail(svg).is_err());
        let whole = png(64, 64);
        assert!(thumbnail(&whole[..whole.len() / 2]).is_err(), "truncated");
        assert!(thumbnail(b"MZ\x90\x00 an executable").is_err());
    }
}
