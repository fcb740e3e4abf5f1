//! The fonts every document is set in: PT Serif (regular, bold, italic, bold italic, with
//! Cyrillic), built into the binary so no font path or system font reaches the output.
//! Widths for layout come from the full faces, parsed once; each document embeds a subset of
//! the glyphs it uses, made per document (the same characters give the same bytes).

use std::collections::BTreeSet;

use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{CmapTarget, SubsetProfile, subset};
use printpdf::ParsedFont;

use crate::factory::pdf::PdfError;

/// A face of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Face {
    Regular,
    Bold,
    Italic,
    BoldItalic,
}

impl Face {
    pub const ALL: [Self; 4] = [Self::Regular, Self::Bold, Self::Italic, Self::BoldItalic];

    pub fn of(bold: bool, italic: bool) -> Self {
        match (bold, italic) {
            (false, false) => Self::Regular,
            (true, false) => Self::Bold,
            (false, true) => Self::Italic,
            (true, true) => Self::BoldItalic,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Self::Regular => 0,
            Self::Bold => 1,
            Self::Italic => 2,
            Self::BoldItalic => 3,
        }
    }

    /// The PDF resource name; six capitals, so it doubles as the subset tag.
    pub fn resource(self) -> &'static str {
        match self {
            Self::Regular => "MONOSR",
            Self::Bold => "MONOSB",
            Self::Italic => "MONOSI",
            Self::BoldItalic => "MONOSZ",
        }
    }
}

const FACE_BYTES: [&[u8]; 4] = [
    include_bytes!("../../../fonts/PTSerif-Regular.ttf"),
    include_bytes!("../../../fonts/PTSerif-Bold.ttf"),
    include_bytes!("../../../fonts/PTSerif-Italic.ttf"),
    include_bytes!("../../../fonts/PTSerif-BoldItalic.ttf"),
];

/// Characters whose advance widths are kept in a table (Latin, Cyrillic, punctuation).
const TABLE_CHARS: usize = 0x2200;
const MISSING: u16 = u16::MAX;

struct FaceData {
    bytes: &'static [u8],
    parsed: ParsedFont,
    /// Advance width per character below [`TABLE_CHARS`], in font units.
    widths: Vec<u16>,
    units_per_em: f32,
}

/// The parsed family; build once and share, parsing costs milliseconds.
pub struct Fonts {
    faces: Vec<FaceData>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts")
            .field("faces", &self.faces.len())
            .finish()
    }
}

impl Fonts {
    /// Parses the built-in faces.
    ///
    /// # Errors
    /// [`PdfError::Font`] if a face does not parse (a broken build).
    pub fn embedded() -> Result<Self, PdfError> {
        let faces = FACE_BYTES
            .iter()
            .zip(Face::ALL)
            .map(|(bytes, face)| {
                let mut warnings = Vec::new();
                let parsed = ParsedFont::from_bytes(bytes, 0, &mut warnings).ok_or_else(|| {
                    PdfError::Font(format!("built-in face {} does not parse", face.resource()))
                })?;
                let units_per_em = f32::from(parsed.units_per_em.max(1));
                let widths = (0..TABLE_CHARS)
                    .map(|code| {
                        u32::try_from(code)
                            .ok()
                            .and_then(|code| parsed.lookup_glyph_index(code))
                            .and_then(|gid| parsed.get_glyph_width(gid))
                            .unwrap_or(MISSING)
                    })
                    .collect();
                Ok(FaceData {
                    bytes,
                    parsed,
                    widths,
                    units_per_em,
                })
            })
            .collect::<Result<_, PdfError>>()?;
        Ok(Self { faces })
    }

    fn face(&self, face: Face) -> &FaceData {
        &self.faces[face.index()]
    }

    /// The advance of `ch` at `size` points; `None` if the face has no glyph for it.
    pub(crate) fn advance(&self, face: Face, ch: char, size: f32) -> Option<f32> {
        let data = self.face(face);
        let units = match data.widths.get(ch as usize) {
            Some(&MISSING) => return None,
            Some(&units) => units,
            None => data
                .parsed
                .lookup_glyph_index(ch as u32)
                .and_then(|gid| data.parsed.get_glyph_width(gid))?,
        };
        Some(f32::from(units) * size / data.units_per_em)
    }

    /// The width of `text` at `size`; characters without a glyph are replaced (see
    /// [`Fonts::printable`]) before measuring.
    pub(crate) fn width(&self, face: Face, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|ch| {
                self.advance(face, self.printable(face, ch), size)
                    .unwrap_or(0.0)
            })
            .sum()
    }

    /// `ch`, or `?` when the face has no glyph for it (non-breaking space becomes a space).
    pub(crate) fn printable(&self, face: Face, ch: char) -> char {
        let ch = if ch == '\u{a0}' { ' ' } else { ch };
        if self.advance(face, ch, 1.0).is_some() {
            ch
        } else {
            '?'
        }
    }

    /// A font holding only the glyphs of `chars`, with a Unicode cmap, ready for printpdf.
    ///
    /// # Errors
    /// [`PdfError::Font`] when subsetting fails.
    pub(crate) fn subset(
        &self,
        face: Face,
        chars: &BTreeSet<char>,
    ) -> Result<ParsedFont, PdfError> {
        let data = self.face(face);
        let fail = |what: String| PdfError::Font(format!("{}: {what}", face.resource()));
        let mut glyphs: Vec<u16> = vec![0];
        glyphs.extend(
            chars
                .iter()
                .filter_map(|ch| data.parsed.lookup_glyph_index(*ch as u32))
                .filter(|gid| *gid != 0),
        );
        glyphs[1..].sort_unstable();
        glyphs.dedup();
        let font = ReadScope::new(data.bytes)
            .read::<FontData<'_>>()
            .map_err(|err| fail(err.to_string()))?;
        let provider = font
            .table_provider(0)
            .map_err(|err| fail(err.to_string()))?;
        let bytes = subset(&provider, &glyphs, &SubsetProfile::Pdf, CmapTarget::Unicode)
            .map_err(|err| fail(err.to_string()))?;
        let mut warnings = Vec::new();
        let mut parsed = ParsedFont::from_bytes(&bytes, 0, &mut warnings)
            .ok_or_else(|| fail("the subset does not parse".to_owned()))?;
        parsed.font_name = Some(format!("{}+PTSerif", face.resource()));
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faces_cover_russian_text_and_subset_keeps_widths() {
        let fonts = Fonts::embedded().expect("built-in fonts parse");
        for face in Face::ALL {
            for ch in "Заявление № «Восход» — ЁёAz0,.;:()".chars() {
                assert!(fonts.advance(face, ch, 12.0).is_some(), "{face:?} {ch}");
            }
        }
        assert!(fonts.width(Face::Bold, "Ж", 12.0) > fonts.width(Face::Regular, "i", 12.0));
        assert_eq!(fonts.printable(Face::Regular, '\u{1F600}'), '?');
        let chars: BTreeSet<char> = "Пайщик".chars().collect();
        let subset = fonts.subset(Face::Regular, &chars).expect("subsets");
        assert!(subset.original_bytes.len() < FACE_BYTES[0].len() / 4);
        let full = &fonts.faces[0].parsed;
        for ch in chars {
            let width = |font: &ParsedFont| {
                font.lookup_glyph_index(ch as u32)
                    .and_then(|gid| font.get_glyph_width(gid))
            };
            assert_eq!(width(&subset), width(full), "{ch}");
        }
        let again = fonts
            .subset(Face::Regular, &"Пайщик".chars().collect())
            .expect("subsets");
        assert_eq!(again.original_bytes, subset.original_bytes);
    }
}
