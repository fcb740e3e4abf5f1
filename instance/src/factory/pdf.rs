//! HTML to PDF on printpdf: the page is parsed ([`dom`]), styled by the user-agent defaults,
//! the print stylesheet and the template's own `<style>` ([`style`]), laid out on A4 pages
//! ([`layout`]) and written as printpdf operations with per-document font subsets
//! ([`fonts`]).
//!
//! Deterministic by construction: resource names are fixed (printpdf would draw random ones),
//! the creation date is the meta's `created_at`, the file identifier is derived from the
//! caller's seed, and nothing reads the clock, the environment or the file system.

mod dom;
pub mod fonts;
mod layout;
mod style;

use std::collections::{BTreeMap, BTreeSet};

use lopdf::{Dictionary, Object, StringFormat};
use miniz_oxide::deflate::core::{
    CompressorOxide, TDEFLFlush, TDEFLStatus, compress_to_output, create_comp_flags_from_zip_params,
};
use printpdf::{
    Line, LinePoint, Mm, Op, PdfDocument, PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point,
    Pt, TextItem, TextMatrix, XObject, XObjectId, XObjectTransform,
};
use sha2::{Digest, Sha256};

use self::fonts::Face;
pub use self::fonts::Fonts;
use self::layout::{Item, PAGE_HEIGHT, Piece};

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// A font could not be read or subset.
    #[error("font: {0}")]
    Font(String),
    /// The PDF could not be written.
    #[error("writing the PDF")]
    Write(#[source] std::io::Error),
}

/// The document information dictionary and the identifier seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfInfo {
    /// `Title`.
    pub title: String,
    /// `Subject`.
    pub subject: String,
    /// `Creator` (the generator and its version).
    pub creator: String,
    /// `Keywords`.
    pub keywords: String,
    /// `CreationDate` and `ModDate`, UTC.
    pub created_at: jiff::Timestamp,
    /// Bytes the file identifier (`/ID`) is derived from.
    pub id_seed: Vec<u8>,
}

/// `Producer` of every PDF.
pub const PRODUCER: &str = "mono document factory";

/// Browser defaults for the elements the templates use, before any stylesheet.
pub(crate) const USER_AGENT_CSS: &str = "
h1 { font-size: 2em; font-weight: bold; margin: 0.67em 0 }
h2 { font-size: 1.5em; font-weight: bold; margin: 0.83em 0 }
h3 { font-size: 1.17em; font-weight: bold; margin: 1em 0 }
h4 { font-weight: bold; margin: 1.33em 0 }
h5 { font-size: 0.83em; font-weight: bold; margin: 1.67em 0 }
h6 { font-size: 0.67em; font-weight: bold; margin: 2.33em 0 }
p, dl { margin: 1em 0 }
ul, ol { margin: 1em 0; padding-left: 40px }
blockquote { margin: 1em 40px }
b, strong, th, dt { font-weight: bold }
i, em, cite, address { font-style: italic }
th { text-align: center }
td, th { padding: 1px }
center { text-align: center }
small { font-size: smaller }
";

/// Lays `html` out and writes it as a PDF.
///
/// # Errors
/// [`PdfError`] when a font cannot be subset or the file cannot be written.
pub fn render(fonts: &Fonts, html: &str, info: &PdfInfo) -> Result<Vec<u8>, PdfError> {
    let dom = dom::parse(html);
    let mut sheet = style::Sheet::default();
    sheet.add(USER_AGENT_CSS);
    for css in &dom.styles {
        sheet.add(css);
    }
    let laid = layout::layout(fonts, &sheet, &dom.root);

    let mut used: BTreeMap<Face, BTreeSet<char>> = BTreeMap::new();
    for item in laid.pages.iter().flatten() {
        if let Item::Text { face, pieces, .. } = item {
            let chars = used.entry(*face).or_default();
            for piece in pieces {
                if let Piece::Text(text) = piece {
                    chars.extend(text.chars());
                }
            }
        }
    }

    let mut pdf = PdfDocument::new(&info.title);
    for (face, chars) in &used {
        let subset = fonts.subset(*face, chars)?;
        pdf.resources.fonts.map.insert(
            printpdf::FontId(face.resource().to_owned()),
            PdfFont::new(subset),
        );
    }
    for (idx, image) in laid.images.iter().enumerate() {
        pdf.resources
            .xobjects
            .map
            .insert(image_id(idx), XObject::Image(image.clone()));
    }
    pdf.pages = laid
        .pages
        .iter()
        .map(|items| PdfPage::new(Mm(210.0), Mm(297.0), page_ops(items, &laid.images)))
        .collect();

    let options = PdfSaveOptions {
        optimize: true,
        subset_fonts: false,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let mut doc = printpdf::to_lopdf_doc(&pdf, &options, &mut warnings);
    let info_id = doc.add_object(Object::Dictionary(info_dictionary(info)));
    doc.trailer.set("Info", Object::Reference(info_id));
    let id = hex::encode_upper(&Sha256::digest(&info.id_seed)[..16]).into_bytes();
    doc.trailer.set(
        "ID",
        Object::Array(vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ]),
    );
    doc.prune_objects();
    doc.renumber_objects();
    compress_streams(&mut doc);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).map_err(PdfError::Write)?;
    Ok(bytes)
}

/// The zlib level of every stream: level 1 (miniz's fast greedy matcher) makes the streams a
/// few per cent larger than the best level and compresses them several times faster, and
/// compression was most of a document's time.
const STREAM_LEVEL: u8 = 1;

/// Compresses every stream that allows it and has no filter yet (content streams, font
/// programs, ToUnicode maps) with one compressor, reset between streams; a stream is kept
/// as it is when compression would not make it smaller. The output depends only on the
/// streams' bytes.
fn compress_streams(doc: &mut lopdf::Document) {
    let flags = create_comp_flags_from_zip_params(i32::from(STREAM_LEVEL), 1, 0);
    let mut compressor = CompressorOxide::new(flags);
    for object in doc.objects.values_mut() {
        let Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        compressor.reset();
        let mut compressed = Vec::with_capacity(stream.content.len() / 2 + 64);
        let (status, _) = compress_to_output(
            &mut compressor,
            &stream.content,
            TDEFLFlush::Finish,
            |chunk| {
                compressed.extend_from_slice(chunk);
                true
            },
        );
        if status == TDEFLStatus::Done && compressed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(compressed);
        }
    }
}

/// The `Keywords` a document's PDF carries, read back from its bytes.
pub fn keywords(pdf: &[u8]) -> Option<String> {
    let doc = lopdf::Document::load_mem(pdf).ok()?;
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        Object::Reference(id) => doc.get_dictionary(*id).ok()?,
        Object::Dictionary(dict) => dict,
        _ => return None,
    };
    match info.get(b"Keywords").ok()? {
        Object::String(bytes, _) => decode_text_string(bytes),
        _ => None,
    }
}

fn image_id(idx: usize) -> XObjectId {
    XObjectId(format!("IM{idx}"))
}

fn page_ops(items: &[Item], images: &[printpdf::RawImage]) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut text_ops = Vec::new();
    let mut current: Option<(Face, f32)> = None;
    for item in items {
        match item {
            Item::Text {
                x,
                baseline,
                face,
                size,
                pieces,
            } => {
                if current != Some((*face, *size)) {
                    text_ops.push(Op::SetFont {
                        font: PdfFontHandle::External(printpdf::FontId(face.resource().to_owned())),
                        size: Pt(*size),
                    });
                    current = Some((*face, *size));
                }
                text_ops.push(Op::SetTextMatrix {
                    matrix: TextMatrix::Translate(Pt(*x), Pt(PAGE_HEIGHT - baseline)),
                });
                let items = pieces
                    .iter()
                    .map(|piece| match piece {
                        Piece::Text(text) => TextItem::Text(text.clone()),
                        Piece::Gap(gap) => TextItem::Offset(-gap * 1000.0 / size),
                    })
                    .collect();
                text_ops.push(Op::ShowText { items });
            }
            Item::Rule { x1, y1, x2, y2 } => {
                if ops.is_empty() {
                    ops.push(Op::SetOutlineThickness { pt: Pt(0.5) });
                }
                let point = |x: f32, y: f32| LinePoint {
                    p: Point {
                        x: Pt(x),
                        y: Pt(PAGE_HEIGHT - y),
                    },
                    bezier: false,
                };
                ops.push(Op::DrawLine {
                    line: Line {
                        points: vec![point(*x1, *y1), point(*x2, *y2)],
                        is_closed: false,
                    },
                });
            }
            Item::Image {
                image,
                x,
                y,
                width,
                height,
            } => {
                let Some(raw) = images.get(*image) else {
                    continue;
                };
                ops.push(Op::UseXobject {
                    id: image_id(*image),
                    transform: XObjectTransform {
                        translate_x: Some(Pt(*x)),
                        translate_y: Some(Pt(PAGE_HEIGHT - y - height)),
                        scale_x: Some(width / raw.width.max(1) as f32),
                        scale_y: Some(height / raw.height.max(1) as f32),
                        dpi: Some(72.0),
                        ..XObjectTransform::default()
                    },
                });
            }
        }
    }
    if !text_ops.is_empty() {
        ops.push(Op::StartTextSection);
        ops.extend(text_ops);
        ops.push(Op::EndTextSection);
    }
    ops
}

fn info_dictionary(info: &PdfInfo) -> Dictionary {
    let date = info
        .created_at
        .strftime("D:%Y%m%d%H%M%S+00'00'")
        .to_string();
    let mut dict = Dictionary::new();
    dict.set("Title", text_string(&info.title));
    dict.set("Subject", text_string(&info.subject));
    dict.set("Creator", text_string(&info.creator));
    dict.set("Producer", text_string(PRODUCER));
    dict.set("Keywords", text_string(&info.keywords));
    dict.set(
        "CreationDate",
        Object::String(date.clone().into_bytes(), StringFormat::Literal),
    );
    dict.set(
        "ModDate",
        Object::String(date.into_bytes(), StringFormat::Literal),
    );
    dict
}

/// A PDF text string: ASCII as it is, anything else as UTF-16BE with a byte order mark.
fn text_string(text: &str) -> Object {
    if text.is_ascii() {
        return Object::String(text.as_bytes().to_vec(), StringFormat::Literal);
    }
    let mut bytes = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

fn decode_text_string(bytes: &[u8]) -> Option<String> {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        None => String::from_utf8(bytes.to_vec()).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> PdfInfo {
        PdfInfo {
            title: "Заявление".to_owned(),
            subject: "Документ по реестру №100".to_owned(),
            creator: "mono-0.1.0".to_owned(),
            keywords: "meta:abc".to_owned(),
            created_at: "2025-03-01T12:00:00Z".parse().expect("instant"),
            id_seed: b"seed".to_vec(),
        }
    }

    #[test]
    fn same_input_same_bytes_and_readable_info() {
        let fonts = Fonts::embedded().expect("fonts");
        let html = "<h1>Заявление</h1><p>Прошу принять меня в пайщики <b>кооператива</b>.</p>";
        let first = render(&fonts, html, &info()).expect("renders");
        let second = render(&fonts, html, &info()).expect("renders");
        assert_eq!(first, second);
        assert!(first.starts_with(b"%PDF-"));
        assert_eq!(keywords(&first).as_deref(), Some("meta:abc"));
        let text = String::from_utf8_lossy(&first);
        assert!(text.contains("D:20250301120000+00'00'"));
        assert!(!text.contains("FontFile2") || text.contains("MONOSR"));
        let mut other = info();
        other.id_seed = b"other".to_vec();
        assert_ne!(render(&fonts, html, &other).expect("renders"), first);
        assert_eq!(
            decode_text_string(&[0xFE, 0xFF, 0x04, 0x10]).as_deref(),
            Some("А")
        );
    }

    #[test]
    fn streams_compress_to_what_a_fresh_compressor_writes() {
        let text: Vec<u8> = "BT /MONOSR 12 Tf (Пайщик) Tj ET\n".as_bytes().repeat(200);
        let noise: Vec<u8> = (0u32..128)
            .flat_map(|n| Sha256::digest(n.to_le_bytes()))
            .collect();
        let mut doc = lopdf::Document::with_version("1.7");
        let ids: Vec<_> = [text.clone(), noise.clone(), text.clone()]
            .into_iter()
            .map(|content| doc.add_object(lopdf::Stream::new(Dictionary::new(), content)))
            .collect();
        compress_streams(&mut doc);
        let stream = |id| match doc.get_object(id).expect("kept") {
            Object::Stream(stream) => stream.clone(),
            other => panic!("{other:?}"),
        };
        let (first, second, third) = (stream(ids[0]), stream(ids[1]), stream(ids[2]));
        assert_eq!(
            first.content, third.content,
            "the reset compressor starts afresh"
        );
        assert_eq!(
            first.content,
            miniz_oxide::deflate::compress_to_vec_zlib(&text, STREAM_LEVEL)
        );
        assert_eq!(first.decompressed_content().expect("inflates"), text);
        assert!(second.dict.get(b"Filter").is_err(), "noise stays as it is");
        assert_eq!(second.content, noise);
    }
}
