//! What a file is, from its first bytes: never from its name or the type the browser
//! claimed. Only what Natter shows inline is told apart; everything else (executables,
//! SVG, HTML, archives) is `application/octet-stream` and only ever downloaded.

use crate::protocol::AttachmentKind;

/// Bytes enough to tell every type below apart.
pub const SNIFF_BYTES: usize = 64;

/// A sniffed type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sniffed {
    pub mime: &'static str,
    pub kind: AttachmentKind,
}

const fn image(mime: &'static str) -> Sniffed {
    Sniffed {
        mime,
        kind: AttachmentKind::Image,
    }
}

const fn video(mime: &'static str) -> Sniffed {
    Sniffed {
        mime,
        kind: AttachmentKind::Video,
    }
}

const fn file(mime: &'static str) -> Sniffed {
    Sniffed {
        mime,
        kind: AttachmentKind::File,
    }
}

/// Anything not recognised.
pub const OCTET_STREAM: Sniffed = file("application/octet-stream");

/// The type of a file that starts with `head` (its first [`SNIFF_BYTES`], or all of it).
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        image("image/png")
    } else if head.starts_with(b"\xff\xd8\xff") {
        image("image/jpeg")
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        image("image/gif")
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        image("image/webp")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" && is_mp4_brand(&head[8..12]) {
        video("video/mp4")
    } else if head.starts_with(b"\x1a\x45\xdf\xa3") && contains(head, b"webm") {
        video("video/webm")
    } else if head.starts_with(b"%PDF-") {
        file("application/pdf")
    } else if head.starts_with(b"PK\x03\x04") {
        file("application/zip")
    } else {
        OCTET_STREAM
    }
}

/// ISO base media brands of MP4 video (not HEIC/AVIF stills, not QuickTime).
fn is_mp4_brand(brand: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 11] = [
        b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ",
        b"MSNV",
    ];
    BRANDS.iter().any(|b| b.as_slice() == brand)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_videos_are_told_by_their_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").mime, "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe1\0\0Exif").mime, "image/jpeg");
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0").mime, "image/gif");
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 ").mime, "image/webp");
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom\0\0\x02\0").kind,
            AttachmentKind::Video
        );
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm";
        assert_eq!(sniff(webm).mime, "video/webm");
        assert_eq!(sniff(b"%PDF-1.7\n").mime, "application/pdf");
    }

    #[test]
    fn names_and_claims_change_nothing() {
        // A Windows executable renamed cat.png, an ELF, a script, SVG and HTML: none is
        // an image, all are downloads.
        for head in [
            &b"MZ\x90\0\x03\0\0\0\x04\0"[..],
            b"\x7fELF\x02\x01\x01\0",
            b"#!/bin/sh\nrm -rf /\n",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            b"<!doctype html><script>alert(1)</script>",
            b"",
        ] {
            assert_eq!(sniff(head), OCTET_STREAM, "{head:?}");
        }
        // HEIC stills and QuickTime are not played inline.
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), OCTET_STREAM);
        // A PNG signature cut short is not a PNG.
        assert_eq!(sniff(b"\x89PNG"), OCTET_STREAM);
    }
}
