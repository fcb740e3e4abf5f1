//! Page layout of the HTML subset: block flow with collapsing vertical margins, paragraphs
//! broken greedily into lines and justified on request, inline bold and italic runs, list
//! markers, tables with content-sized columns and cell borders, images from data URLs,
//! horizontal rules, forced page breaks, and A4 pages with the content area the print
//! stylesheet's `@page` rule describes. Coordinates are points from the page's top left.

use std::collections::BTreeMap;

use base64::Engine as _;
use printpdf::RawImage;

use crate::factory::pdf::dom::{Element, Node};
use crate::factory::pdf::fonts::{Face, Fonts};
use crate::factory::pdf::style::{Align, PT_PER_PX, Sheet, Style};

/// A4 in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
/// Margins (top, right, bottom, left) as the print stylesheet's `@page` sets them (20 mm,
/// 15 mm, 22 mm, 25 mm); the bottom one holds the page number.
pub(crate) const MARGINS: [f32; 4] = [56.69, 42.52, 62.36, 70.87];

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// A run of text in one face and size starting at `x` on the baseline `baseline`.
    Text {
        x: f32,
        baseline: f32,
        face: Face,
        size: f32,
        pieces: Vec<Piece>,
    },
    /// A straight line.
    Rule { x1: f32, y1: f32, x2: f32, y2: f32 },
    /// Image number `image` with its top left corner at (`x`, `y`).
    Image {
        image: usize,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
}

/// Part of a text run: text, or extra space (points) a justified line adds before a word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Gap(f32),
}

/// What the layout produced.
#[derive(Debug, Default)]
pub(crate) struct Laid {
    pub pages: Vec<Vec<Item>>,
    pub images: Vec<RawImage>,
}

/// Lays out the body of `root` with the style sheet `sheet`.
pub(crate) fn layout(fonts: &Fonts, sheet: &Sheet, root: &Element) -> Laid {
    let body = find(root, "body").unwrap_or(root);
    let mut flow = Flow {
        fonts,
        sheet,
        paginate: true,
        top: MARGINS[0],
        bottom: PAGE_HEIGHT - MARGINS[2],
        pages: vec![Vec::new()],
        y: MARGINS[0],
        pending_margin: 0.0,
        images: Images::default(),
        marker: None,
    };
    let mut ancestors = Vec::new();
    if !std::ptr::eq(body, root) {
        ancestors.push(root);
    }
    let root_style = Style::root();
    flow.block(
        body,
        &mut ancestors,
        &root_style,
        MARGINS[3],
        PAGE_WIDTH - MARGINS[1],
    );
    let total = flow.pages.len();
    for (idx, page) in flow.pages.iter_mut().enumerate() {
        let label = format!("{} / {total}", idx + 1);
        let size = 9.0;
        let width = fonts.width(Face::Regular, &label, size);
        page.push(Item::Text {
            x: (PAGE_WIDTH - width) / 2.0,
            baseline: PAGE_HEIGHT - MARGINS[2] / 2.0,
            face: Face::Regular,
            size,
            pieces: vec![Piece::Text(label)],
        });
    }
    Laid {
        pages: flow.pages,
        images: flow.images.decoded,
    }
}

fn find<'a>(element: &'a Element, tag: &str) -> Option<&'a Element> {
    if element.tag == tag {
        return Some(element);
    }
    element.children.iter().find_map(|child| match child {
        Node::Element(el) => find(el, tag),
        Node::Text(_) => None,
    })
}

#[derive(Debug, Default)]
struct Images {
    by_src: BTreeMap<String, Option<usize>>,
    decoded: Vec<RawImage>,
}

impl Images {
    /// The image of a `data:` URL, decoded once per document; anything else (a remote URL,
    /// bad data) is no image: rendering never fetches.
    fn get(&mut self, src: &str) -> Option<usize> {
        if let Some(known) = self.by_src.get(src) {
            return *known;
        }
        let decoded = decode_data_url(src);
        let idx = decoded.map(|image| {
            self.decoded.push(image);
            self.decoded.len() - 1
        });
        self.by_src.insert(src.to_owned(), idx);
        idx
    }
}

fn decode_data_url(src: &str) -> Option<RawImage> {
    let rest = src.trim().strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    if !header.ends_with(";base64")
        || !(header.starts_with("image/png") || header.starts_with("image/jp"))
    {
        return None;
    }
    let cleaned: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()?;
    let mut warnings = Vec::new();
    RawImage::decode_from_bytes(&bytes, &mut warnings).ok()
}

/// A piece of inline content waiting to be broken into lines.
#[derive(Debug, Clone)]
enum Atom {
    Word {
        text: String,
        face: Face,
        size: f32,
        width: f32,
        space_before: bool,
    },
    Break,
    Image {
        image: usize,
        width: f32,
        height: f32,
        space_before: bool,
    },
}

#[derive(Debug, Default)]
struct Inline {
    atoms: Vec<Atom>,
    pending_space: bool,
}

const BLOCKS: &[&str] = &[
    "html",
    "body",
    "div",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "hr",
    "section",
    "header",
    "footer",
    "blockquote",
    "center",
    "pre",
    "article",
    "main",
    "nav",
    "address",
    "figure",
    "dl",
    "dt",
    "dd",
    "caption",
    "#root",
];

struct Flow<'a> {
    fonts: &'a Fonts,
    sheet: &'a Sheet,
    paginate: bool,
    top: f32,
    bottom: f32,
    pages: Vec<Vec<Item>>,
    y: f32,
    pending_margin: f32,
    images: Images,
    /// A list marker to print before the next line.
    marker: Option<(String, Face, f32)>,
}

impl<'a> Flow<'a> {
    fn push(&mut self, item: Item) {
        if let Some(page) = self.pages.last_mut() {
            page.push(item);
        }
    }

    fn new_page(&mut self) {
        if self.paginate {
            self.pages.push(Vec::new());
            self.y = self.top;
            self.pending_margin = 0.0;
        }
    }

    /// Makes room for `height`, starting a page when it does not fit (unless the page is
    /// still empty, where nothing would be gained).
    fn reserve(&mut self, height: f32) {
        if self.paginate && self.y + height > self.bottom && self.y > self.top + 0.5 {
            self.new_page();
        }
    }

    fn block<'e>(
        &mut self,
        element: &'e Element,
        ancestors: &mut Vec<&'e Element>,
        parent: &Style,
        left: f32,
        right: f32,
    ) {
        let style = self.sheet.compute(element, ancestors, parent);
        if style.display_none {
            return;
        }
        if style.break_before && self.paginate && self.y > self.top + 0.5 {
            self.new_page();
        }
        let at_top = self.paginate && self.y <= self.top + 0.5;
        let margin_top = if at_top {
            0.0
        } else {
            self.pending_margin.max(style.margin[0])
        };
        self.y += margin_top;
        self.pending_margin = 0.0;
        let mut content_left = left + style.margin[3] + style.padding[3];
        let mut content_right = right - style.margin[1] - style.padding[1];
        if let Some(width) = style.width.or(style.max_width) {
            let width = width.resolve(right - left);
            if width > 0.0 && content_left + width < content_right {
                content_right = content_left + width;
            }
        }
        if content_right - content_left < 20.0 {
            content_left = left;
            content_right = right;
        }
        match element.tag.as_str() {
            "table" => {
                self.table(element, ancestors, &style, content_left, content_right);
            }
            "hr" => {
                self.reserve(8.0);
                self.y += 4.0;
                self.push(Item::Rule {
                    x1: content_left,
                    y1: self.y,
                    x2: content_right,
                    y2: self.y,
                });
                self.y += 4.0;
            }
            _ => {
                self.y += style.padding[0];
                if element.tag == "li" {
                    self.marker = Some((
                        list_marker(element, ancestors),
                        Face::of(style.bold, style.italic),
                        style.size,
                    ));
                }
                ancestors.push(element);
                let mut inline = Inline::default();
                for child in &element.children {
                    match child {
                        Node::Text(text) => self.text(&mut inline, text, &style),
                        Node::Element(child) if BLOCKS.contains(&child.tag.as_str()) => {
                            self.flush(&mut inline, &style, content_left, content_right);
                            self.block(child, ancestors, &style, content_left, content_right);
                        }
                        Node::Element(child) => {
                            self.inline(
                                &mut inline,
                                child,
                                ancestors,
                                &style,
                                content_right - content_left,
                            );
                        }
                    }
                }
                self.flush(&mut inline, &style, content_left, content_right);
                ancestors.pop();
                self.marker = None;
                self.y += style.padding[2];
            }
        }
        self.pending_margin = self.pending_margin.max(style.margin[2]);
        if style.break_after {
            self.new_page();
        }
    }

    fn text(&mut self, inline: &mut Inline, text: &str, style: &Style) {
        let face = Face::of(style.bold, style.italic);
        if style.pre_wrap {
            for (idx, line) in text.split('\n').enumerate() {
                if idx > 0 && !inline.atoms.is_empty() {
                    inline.atoms.push(Atom::Break);
                    inline.pending_space = false;
                }
                self.words(inline, line, face, style.size);
            }
        } else {
            self.words(inline, text, face, style.size);
        }
    }

    fn words(&mut self, inline: &mut Inline, text: &str, face: Face, size: f32) {
        if text.starts_with(|c: char| c.is_whitespace() && c != '\u{a0}') {
            inline.pending_space = true;
        }
        let mut words = text
            .split(|c: char| c.is_whitespace() && c != '\u{a0}')
            .filter(|word| !word.is_empty())
            .peekable();
        while let Some(word) = words.next() {
            let printable: String = word
                .chars()
                .map(|ch| self.fonts.printable(face, ch))
                .collect();
            let width = self.fonts.width(face, &printable, size);
            let space_before =
                inline.pending_space && !matches!(inline.atoms.last(), None | Some(Atom::Break));
            inline.atoms.push(Atom::Word {
                text: printable,
                face,
                size,
                width,
                space_before,
            });
            inline.pending_space = words.peek().is_some();
        }
        if text.ends_with(|c: char| c.is_whitespace() && c != '\u{a0}') {
            inline.pending_space = true;
        }
    }

    fn inline<'e>(
        &mut self,
        inline: &mut Inline,
        element: &'e Element,
        ancestors: &mut Vec<&'e Element>,
        parent: &Style,
        available: f32,
    ) {
        let style = self.sheet.compute(element, ancestors, parent);
        if style.display_none {
            return;
        }
        match element.tag.as_str() {
            "br" => {
                inline.atoms.push(Atom::Break);
                inline.pending_space = false;
            }
            "img" => self.image(inline, element, &style, available),
            _ => {
                ancestors.push(element);
                for child in &element.children {
                    match child {
                        Node::Text(text) => self.text(inline, text, &style),
                        Node::Element(child) => {
                            self.inline(inline, child, ancestors, &style, available)
                        }
                    }
                }
                ancestors.pop();
            }
        }
    }

    fn image(&mut self, inline: &mut Inline, element: &Element, style: &Style, available: f32) {
        let Some(image) = element.attr("src").and_then(|src| self.images.get(src)) else {
            return;
        };
        let Some(raw) = self.images.decoded.get(image) else {
            return;
        };
        let natural_w = raw.width as f32 * PT_PER_PX;
        let natural_h = raw.height as f32 * PT_PER_PX;
        let attr_px = |name: &str| {
            element
                .attr(name)
                .and_then(|v| v.trim_end_matches("px").parse::<f32>().ok())
                .map(|px| px * PT_PER_PX)
        };
        let mut width = style
            .width
            .map(|w| w.resolve(available))
            .or_else(|| attr_px("width"));
        let mut height = style.height.or_else(|| attr_px("height"));
        match (width, height) {
            (Some(w), None) => height = Some(w * natural_h / natural_w.max(1.0)),
            (None, Some(h)) => width = Some(h * natural_w / natural_h.max(1.0)),
            (None, None) => {
                width = Some(natural_w);
                height = Some(natural_h);
            }
            (Some(_), Some(_)) => {}
        }
        let (mut width, mut height) = (width.unwrap_or(natural_w), height.unwrap_or(natural_h));
        let limit = style
            .max_width
            .map_or(available, |max| max.resolve(available).min(available));
        if width > limit && width > 0.0 {
            height *= limit / width;
            width = limit;
        }
        let space_before =
            inline.pending_space && !matches!(inline.atoms.last(), None | Some(Atom::Break));
        inline.atoms.push(Atom::Image {
            image,
            width,
            height,
            space_before,
        });
        inline.pending_space = false;
    }

    /// Breaks the collected inline content into lines between `left` and `right`.
    fn flush(&mut self, inline: &mut Inline, style: &Style, left: f32, right: f32) {
        let atoms = std::mem::take(&mut inline.atoms);
        inline.pending_space = false;
        if atoms.is_empty() {
            return;
        }
        let width = (right - left).max(1.0);
        let mut line: Vec<Atom> = Vec::new();
        let mut line_width = 0.0;
        let mut first = true;
        let mut pending = atoms.into_iter().collect::<std::collections::VecDeque<_>>();
        while let Some(atom) = pending.pop_front() {
            let indent = if first { style.text_indent } else { 0.0 };
            let available = width - indent;
            match atom {
                Atom::Break => {
                    self.line(&line, style, left + indent, available, true);
                    line.clear();
                    line_width = 0.0;
                    first = false;
                }
                Atom::Word {
                    ref text,
                    face,
                    size,
                    width: word_width,
                    space_before,
                } => {
                    let space = if space_before && !line.is_empty() {
                        self.fonts.width(face, " ", size)
                    } else {
                        0.0
                    };
                    if line_width + space + word_width <= available + 0.01 {
                        line_width += space + word_width;
                        line.push(atom);
                    } else if line.is_empty() {
                        // A word longer than the line: split it where it no longer fits.
                        let mut head = String::new();
                        let mut head_width = 0.0;
                        let mut chars = text.chars();
                        for ch in chars.by_ref() {
                            let advance = self.fonts.advance(face, ch, size).unwrap_or(0.0);
                            if head_width + advance > available && !head.is_empty() {
                                let tail: String =
                                    std::iter::once(ch).chain(chars.by_ref()).collect();
                                let tail_width = self.fonts.width(face, &tail, size);
                                pending.push_front(Atom::Word {
                                    text: tail,
                                    face,
                                    size,
                                    width: tail_width,
                                    space_before: false,
                                });
                                break;
                            }
                            head.push(ch);
                            head_width += advance;
                        }
                        line.push(Atom::Word {
                            text: head,
                            face,
                            size,
                            width: head_width,
                            space_before: false,
                        });
                        self.line(&line, style, left + indent, available, false);
                        line.clear();
                        line_width = 0.0;
                        first = false;
                    } else {
                        self.line(&line, style, left + indent, available, false);
                        line.clear();
                        first = false;
                        line_width = word_width;
                        line.push(Atom::Word {
                            text: text.clone(),
                            face,
                            size,
                            width: word_width,
                            space_before: false,
                        });
                    }
                }
                Atom::Image {
                    image,
                    width: image_width,
                    height,
                    space_before,
                } => {
                    let space = if space_before && !line.is_empty() {
                        self.fonts.width(Face::Regular, " ", style.size)
                    } else {
                        0.0
                    };
                    if line_width + space + image_width > available + 0.01 && !line.is_empty() {
                        self.line(&line, style, left + indent, available, false);
                        line.clear();
                        first = false;
                        line_width = image_width;
                        line.push(Atom::Image {
                            image,
                            width: image_width,
                            height,
                            space_before: false,
                        });
                    } else {
                        line_width += space + image_width;
                        line.push(Atom::Image {
                            image,
                            width: image_width,
                            height,
                            space_before,
                        });
                    }
                }
            }
        }
        if !line.is_empty() {
            let indent = if first { style.text_indent } else { 0.0 };
            self.line(&line, style, left + indent, width - indent, true);
        }
    }

    /// Places one line; `last` lines (and lines ended by `<br>`) are not justified.
    fn line(&mut self, atoms: &[Atom], style: &Style, left: f32, available: f32, last: bool) {
        let mut height = style.size * style.line_height;
        let mut natural = 0.0;
        let mut gaps = 0usize;
        let mut text_height = style.size;
        for (idx, atom) in atoms.iter().enumerate() {
            match atom {
                Atom::Word {
                    face,
                    size,
                    width,
                    space_before,
                    ..
                } => {
                    height = height.max(size * style.line_height);
                    text_height = text_height.max(*size);
                    if *space_before && idx > 0 {
                        natural += self.fonts.width(*face, " ", *size);
                        gaps += 1;
                    }
                    natural += width;
                }
                Atom::Image {
                    width,
                    height: image_height,
                    space_before,
                    ..
                } => {
                    height = height.max(*image_height + 2.0);
                    if *space_before && idx > 0 {
                        natural += self.fonts.width(Face::Regular, " ", style.size);
                        gaps += 1;
                    }
                    natural += width;
                }
                Atom::Break => {}
            }
        }
        self.reserve(height);
        let slack = (available - natural).max(0.0);
        let (mut x, extra) = match style.align {
            Align::Left => (left, 0.0),
            Align::Right => (left + slack, 0.0),
            Align::Center => (left + slack / 2.0, 0.0),
            Align::Justify if !last && gaps > 0 => (left, slack / gaps as f32),
            Align::Justify => (left, 0.0),
        };
        let top = self.y;
        let baseline = top + height - (height - text_height) / 2.0 - text_height * 0.22;
        if let Some((marker, face, size)) = self.marker.take() {
            let marker_width = self.fonts.width(face, &marker, size);
            self.push(Item::Text {
                x: left - marker_width - 5.0,
                baseline,
                face,
                size,
                pieces: vec![Piece::Text(marker)],
            });
        }
        let mut run: Option<(f32, Face, f32, Vec<Piece>)> = None;
        for (idx, atom) in atoms.iter().enumerate() {
            match atom {
                Atom::Word {
                    text,
                    face,
                    size,
                    width,
                    space_before,
                } => {
                    let spaced = *space_before && idx > 0;
                    let space = if spaced {
                        self.fonts.width(*face, " ", *size)
                    } else {
                        0.0
                    };
                    let same_run = run
                        .as_ref()
                        .is_some_and(|(_, f, s, _)| f == face && s == size);
                    if !same_run {
                        if let Some((rx, rf, rs, pieces)) = run.take() {
                            self.push(Item::Text {
                                x: rx,
                                baseline,
                                face: rf,
                                size: rs,
                                pieces,
                            });
                        }
                        x += space + if spaced { extra } else { 0.0 };
                        run = Some((x, *face, *size, vec![Piece::Text(text.clone())]));
                    } else if let Some((_, _, _, pieces)) = run.as_mut() {
                        if spaced {
                            if extra > 0.0 {
                                pieces.push(Piece::Gap(extra));
                            }
                            pieces.push(Piece::Text(format!(" {text}")));
                        } else {
                            pieces.push(Piece::Text(text.clone()));
                        }
                        x += space + if spaced { extra } else { 0.0 };
                    }
                    x += width;
                }
                Atom::Image {
                    image,
                    width,
                    height: image_height,
                    space_before,
                } => {
                    if let Some((rx, rf, rs, pieces)) = run.take() {
                        self.push(Item::Text {
                            x: rx,
                            baseline,
                            face: rf,
                            size: rs,
                            pieces,
                        });
                    }
                    if *space_before && idx > 0 {
                        x += self.fonts.width(Face::Regular, " ", style.size) + extra;
                    }
                    self.push(Item::Image {
                        image: *image,
                        x,
                        y: top + (height - image_height) / 2.0,
                        width: *width,
                        height: *image_height,
                    });
                    x += width;
                }
                Atom::Break => {}
            }
        }
        if let Some((rx, rf, rs, pieces)) = run.take() {
            self.push(Item::Text {
                x: rx,
                baseline,
                face: rf,
                size: rs,
                pieces,
            });
        }
        self.y = top + height;
    }

    fn table<'e>(
        &mut self,
        table: &'e Element,
        ancestors: &mut Vec<&'e Element>,
        style: &Style,
        left: f32,
        right: f32,
    ) {
        ancestors.push(table);
        let mut rows: Vec<(&'e Element, Vec<&'e Element>)> = Vec::new();
        for child in &table.children {
            if let Node::Element(el) = child {
                match el.tag.as_str() {
                    "tr" => rows.push((el, cells(el))),
                    "thead" | "tbody" | "tfoot" => {
                        for row in &el.children {
                            if let Node::Element(row) = row
                                && row.tag == "tr"
                            {
                                rows.push((row, cells(row)));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        let columns = rows
            .iter()
            .map(|(_, cells)| cells.iter().map(|c| colspan(c)).sum::<usize>())
            .max()
            .unwrap_or(0);
        if columns == 0 {
            ancestors.pop();
            return;
        }
        let width = right - left;
        // Column widths from content: the longest word (minimum) and the whole text (maximum).
        let mut min = vec![12.0_f32; columns];
        let mut max = vec![12.0_f32; columns];
        let mut fixed: Vec<Option<f32>> = vec![None; columns];
        let mut styles: Vec<Vec<Style>> = Vec::new();
        let group_of = |row: &Element| -> Option<&'e Element> {
            table.children.iter().find_map(|child| match child {
                Node::Element(group)
                    if group
                        .children
                        .iter()
                        .any(|n| matches!(n, Node::Element(r) if std::ptr::eq(r, row))) =>
                {
                    Some(group)
                }
                _ => None,
            })
        };
        for (row, cells) in &rows {
            let group = group_of(row);
            if let Some(group) = group {
                ancestors.push(group);
            }
            let row_style = self.sheet.compute(row, ancestors, style);
            ancestors.push(row);
            let mut row_styles = Vec::new();
            let mut column = 0;
            for cell in cells {
                let cell_style = self.sheet.compute(cell, ancestors, &row_style);
                let span = colspan(cell);
                if span == 1 && column < columns {
                    let face = Face::of(cell_style.bold, cell_style.italic);
                    let text = text_of(cell);
                    let padding = cell_style.padding[1] + cell_style.padding[3] + 1.0;
                    let longest = text
                        .split_whitespace()
                        .map(|w| self.fonts.width(face, w, cell_style.size))
                        .fold(0.0, f32::max);
                    let whole = self.fonts.width(
                        face,
                        &text.split_whitespace().collect::<Vec<_>>().join(" "),
                        cell_style.size,
                    );
                    min[column] = min[column].max(longest + padding);
                    max[column] = max[column].max(whole + padding);
                    if let Some(w) = cell_style.width {
                        fixed[column] = Some(w.resolve(width));
                    }
                }
                column += span;
                row_styles.push(cell_style);
            }
            ancestors.pop();
            if group.is_some() {
                ancestors.pop();
            }
            styles.push(row_styles);
        }
        let widths = column_widths(width, &min, &max, &fixed);
        for ((row, cells), row_styles) in rows.iter().zip(&styles) {
            let group = group_of(row);
            if let Some(group) = group {
                ancestors.push(group);
            }
            ancestors.push(row);
            // Each cell is laid out on its own, then the row is placed where it fits whole.
            let mut laid_cells = Vec::new();
            let mut column = 0;
            let mut row_height: f32 = 0.0;
            for (cell, cell_style) in cells.iter().zip(row_styles) {
                let span = colspan(cell).min(columns.saturating_sub(column)).max(1);
                let x = left + widths[..column.min(columns)].iter().sum::<f32>();
                let cell_width: f32 = widths[column.min(columns - 1)..(column + span).min(columns)]
                    .iter()
                    .sum();
                let mut sub = Flow {
                    fonts: self.fonts,
                    sheet: self.sheet,
                    paginate: false,
                    top: 0.0,
                    bottom: f32::MAX,
                    pages: vec![Vec::new()],
                    y: cell_style.padding[0],
                    pending_margin: 0.0,
                    images: std::mem::take(&mut self.images),
                    marker: None,
                };
                let inner_left = cell_style.padding[3];
                let inner_right = cell_width - cell_style.padding[1];
                let mut inline = Inline::default();
                ancestors.push(cell);
                for child in &cell.children {
                    match child {
                        Node::Text(text) => sub.text(&mut inline, text, cell_style),
                        Node::Element(child) if BLOCKS.contains(&child.tag.as_str()) => {
                            sub.flush(&mut inline, cell_style, inner_left, inner_right);
                            sub.block(child, ancestors, cell_style, inner_left, inner_right);
                        }
                        Node::Element(child) => sub.inline(
                            &mut inline,
                            child,
                            ancestors,
                            cell_style,
                            inner_right - inner_left,
                        ),
                    }
                }
                sub.flush(&mut inline, cell_style, inner_left, inner_right);
                ancestors.pop();
                let height = sub.y + cell_style.padding[2];
                self.images = std::mem::take(&mut sub.images);
                row_height = row_height.max(height).max(cell_style.height.unwrap_or(0.0));
                laid_cells.push((
                    x,
                    cell_width,
                    cell_style.border,
                    sub.pages.pop().unwrap_or_default(),
                ));
                column += span;
            }
            ancestors.pop();
            if group.is_some() {
                ancestors.pop();
            }
            self.reserve(row_height);
            let top = self.y;
            for (x, cell_width, border, items) in laid_cells {
                for item in items {
                    self.push(shift(item, x, top));
                }
                if border || style.border {
                    let (x2, bottom) = (x + cell_width, top + row_height);
                    for (x1, y1, xe, ye) in [
                        (x, top, x2, top),
                        (x, bottom, x2, bottom),
                        (x, top, x, bottom),
                        (x2, top, x2, bottom),
                    ] {
                        self.push(Item::Rule {
                            x1,
                            y1,
                            x2: xe,
                            y2: ye,
                        });
                    }
                }
            }
            self.y = top + row_height;
        }
        ancestors.pop();
    }
}

fn shift(item: Item, dx: f32, dy: f32) -> Item {
    match item {
        Item::Text {
            x,
            baseline,
            face,
            size,
            pieces,
        } => Item::Text {
            x: x + dx,
            baseline: baseline + dy,
            face,
            size,
            pieces,
        },
        Item::Rule { x1, y1, x2, y2 } => Item::Rule {
            x1: x1 + dx,
            y1: y1 + dy,
            x2: x2 + dx,
            y2: y2 + dy,
        },
        Item::Image {
            image,
            x,
            y,
            width,
            height,
        } => Item::Image {
            image,
            x: x + dx,
            y: y + dy,
            width,
            height,
        },
    }
}

fn cells(row: &Element) -> Vec<&Element> {
    row.children
        .iter()
        .filter_map(|child| match child {
            Node::Element(cell) if cell.tag == "td" || cell.tag == "th" => Some(cell),
            _ => None,
        })
        .collect()
}

fn colspan(cell: &Element) -> usize {
    cell.attr("colspan")
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
        .min(64)
}

fn text_of(element: &Element) -> String {
    let mut out = String::new();
    for child in &element.children {
        match child {
            Node::Text(text) => {
                out.push_str(text);
                out.push(' ');
            }
            Node::Element(el) => {
                out.push_str(&text_of(el));
                out.push(' ');
            }
        }
    }
    out
}

/// Splits `width` between columns: fixed ones first, the rest by content, every column at
/// least as wide as its longest word when the table allows.
pub(crate) fn column_widths(
    width: f32,
    min: &[f32],
    max: &[f32],
    fixed: &[Option<f32>],
) -> Vec<f32> {
    let fixed_total: f32 = fixed.iter().flatten().sum();
    let free: Vec<usize> = (0..min.len()).filter(|idx| fixed[*idx].is_none()).collect();
    let remaining = (width - fixed_total).max(0.0);
    let min_total: f32 = free.iter().map(|idx| min[*idx]).sum();
    let max_total: f32 = free.iter().map(|idx| max[*idx]).sum();
    let mut widths: Vec<f32> = fixed.iter().map(|w| w.unwrap_or(0.0)).collect();
    if free.is_empty() {
        let scale = if fixed_total > 0.0 {
            width / fixed_total
        } else {
            1.0
        };
        return widths.iter().map(|w| w * scale).collect();
    }
    for &idx in &free {
        widths[idx] = if max_total <= remaining {
            max[idx] + (remaining - max_total) * max[idx] / max_total.max(1.0)
        } else if min_total <= remaining {
            let spread = (max_total - min_total).max(1.0);
            min[idx] + (remaining - min_total) * (max[idx] - min[idx]) / spread
        } else {
            remaining * min[idx] / min_total.max(1.0)
        };
    }
    widths
}

/// `1.`, `2.`… in an ordered list, a bullet otherwise.
fn list_marker(item: &Element, ancestors: &[&Element]) -> String {
    let Some(list) = ancestors.last() else {
        return "•".to_owned();
    };
    if list.tag != "ol" {
        return "•".to_owned();
    }
    let start: usize = list.attr("start").and_then(|v| v.parse().ok()).unwrap_or(1);
    let position = list
        .children
        .iter()
        .filter_map(|child| match child {
            Node::Element(el) if el.tag == "li" => Some(el),
            _ => None,
        })
        .position(|el| std::ptr::eq(el, item))
        .unwrap_or(0);
    format!("{}.", start + position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factory::pdf::dom::parse;

    fn laid(html: &str) -> Laid {
        let fonts = Fonts::embedded().expect("fonts");
        let dom = parse(html);
        let mut sheet = Sheet::default();
        sheet.add(crate::factory::pdf::USER_AGENT_CSS);
        for css in &dom.styles {
            sheet.add(css);
        }
        layout(&fonts, &sheet, &dom.root)
    }

    fn texts(page: &[Item]) -> Vec<String> {
        page.iter()
            .filter_map(|item| match item {
                Item::Text { pieces, .. } => Some(
                    pieces
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Text(t) => Some(t.as_str()),
                            Piece::Gap(_) => None,
                        })
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn justified_lines_fill_the_width_except_the_last() {
        let words =
            "Пайщик вносит паевой взнос в порядке и сроки, установленные Уставом. ".repeat(8);
        let out = laid(&format!("<p style='text-align: justify'>{words}</p>"));
        let page = &out.pages[0];
        let gaps: Vec<usize> = page
            .iter()
            .filter_map(|item| match item {
                Item::Text { pieces, size, .. } if *size > 10.0 => {
                    Some(pieces.iter().filter(|p| matches!(p, Piece::Gap(_))).count())
                }
                _ => None,
            })
            .collect();
        assert!(gaps.len() >= 3, "{gaps:?}");
        assert!(gaps[..gaps.len() - 1].iter().all(|g| *g > 0));
        assert_eq!(gaps.last(), Some(&0));
    }

    #[test]
    fn bold_runs_lists_and_page_numbers() {
        let out = laid("<p>один <b>два</b> три</p><ol><li>первый</li><li>второй</li></ol>");
        let page = texts(&out.pages[0]);
        assert_eq!(
            page,
            [
                "один",
                "два",
                "три",
                "1.",
                "первый",
                "2.",
                "второй",
                "1 / 1"
            ]
        );
        let faces: Vec<Face> = out.pages[0]
            .iter()
            .filter_map(|item| match item {
                Item::Text { face, .. } => Some(*face),
                _ => None,
            })
            .collect();
        assert_eq!(faces[1], Face::Bold);
    }

    #[test]
    fn long_documents_break_into_numbered_pages_and_forced_breaks_hold() {
        let paragraph =
            "<p>Текст соглашения, достаточно длинный для переноса строк. </p>".repeat(80);
        let out = laid(&paragraph);
        assert!(out.pages.len() >= 2);
        let last = texts(out.pages.last().expect("a page"));
        assert_eq!(
            last.last().cloned(),
            Some(format!("{} / {}", out.pages.len(), out.pages.len()))
        );
        let forced = laid("<p>a</p><div style='page-break-before: always'>b</div>");
        assert_eq!(forced.pages.len(), 2);
    }

    #[test]
    fn tables_share_the_width_and_draw_borders() {
        let out = laid(
            "<table style='border: 1px solid'><tr><th style='width: 30%'>Форма</th><td>заочная</td></tr><tr><td>Место</td><td>г. Москва, ул. Ленина, д. 1</td></tr></table>",
        );
        let rules = out.pages[0]
            .iter()
            .filter(|item| matches!(item, Item::Rule { .. }))
            .count();
        assert_eq!(rules, 16);
        let widths = column_widths(400.0, &[50.0, 50.0], &[100.0, 300.0], &[None, None]);
        assert_eq!(widths, [100.0, 300.0]);
        let squeezed = column_widths(200.0, &[50.0, 50.0], &[100.0, 300.0], &[None, None]);
        assert!((squeezed.iter().sum::<f32>() - 200.0).abs() < 0.01 && squeezed[0] < squeezed[1]);
        assert_eq!(
            column_widths(400.0, &[10.0, 10.0], &[10.0, 10.0], &[Some(120.0), None]),
            [120.0, 280.0]
        );
    }

    #[test]
    fn images_come_only_from_data_urls() {
        // A 1x1 PNG.
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        let out = laid(&format!(
            "<p><img src='data:image/png;base64,{png}' width='40'><img src='https://example.org/a.png'></p>"
        ));
        assert_eq!(out.images.len(), 1);
        let images: Vec<&Item> = out.pages[0]
            .iter()
            .filter(|item| matches!(item, Item::Image { .. }))
            .collect();
        assert!(
            matches!(images.as_slice(), [Item::Image { width, .. }] if (*width - 30.0).abs() < 0.01)
        );
    }
}
