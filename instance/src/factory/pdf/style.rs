//! The CSS subset the layout understands: rules with type, class, universal and descendant
//! selectors, inline `style` attributes and `!important`, cascaded by importance,
//! specificity and order. Properties: `text-align`, `font-weight`, `font-style`,
//! `font-size`, `line-height`, `margin*`, `padding*`, `width`, `max-width`, `height`,
//! `border*` (on or off), `text-indent`, `white-space`, `display: none`,
//! `page-break-before/after` and `break-before/after`. Everything else is ignored, as a
//! printer ignores what it cannot print.

use crate::factory::pdf::dom::Element;

/// Points per CSS pixel.
pub(crate) const PT_PER_PX: f32 = 0.75;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Horizontal alignment of inline content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Align {
    #[default]
    Left,
    Right,
    Center,
    Justify,
}

/// A length that may be relative to the containing width.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Length {
    Pt(f32),
    Percent(f32),
}

impl Length {
    pub fn resolve(self, container: f32) -> f32 {
        match self {
            Self::Pt(pt) => pt,
            Self::Percent(percent) => container * percent / 100.0,
        }
    }
}

/// Computed style of one element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Style {
    // Inherited.
    pub align: Align,
    pub bold: bool,
    pub italic: bool,
    pub size: f32,
    pub line_height: f32,
    pub pre_wrap: bool,
    // Not inherited.
    pub display_none: bool,
    pub margin: [f32; 4],
    pub padding: [f32; 4],
    pub width: Option<Length>,
    pub max_width: Option<Length>,
    pub height: Option<f32>,
    pub border: bool,
    pub text_indent: f32,
    pub break_before: bool,
    pub break_after: bool,
}

impl Style {
    /// The style of the page itself: what the print stylesheet's `body` then refines.
    pub fn root() -> Self {
        Self {
            align: Align::Left,
            bold: false,
            italic: false,
            size: 12.0,
            line_height: 1.3,
            pre_wrap: false,
            display_none: false,
            margin: [0.0; 4],
            padding: [0.0; 4],
            width: None,
            max_width: None,
            height: None,
            border: false,
            text_indent: 0.0,
            break_before: false,
            break_after: false,
        }
    }

    /// A child's starting point: inherited properties kept, the others reset.
    fn inherit(&self) -> Self {
        Self {
            align: self.align,
            bold: self.bold,
            italic: self.italic,
            size: self.size,
            line_height: self.line_height,
            pre_wrap: self.pre_wrap,
            ..Self::root()
        }
    }
}

/// One compound selector: `tag`, `.class`, `tag.class.other` or `*`.
#[derive(Debug, Clone, PartialEq)]
struct Compound {
    tag: Option<String>,
    classes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// Compounds from the outermost ancestor to the element itself.
    selector: Vec<Compound>,
    specificity: (u32, u32),
    order: usize,
    declarations: Vec<Declaration>,
}

#[derive(Debug, Clone, PartialEq)]
struct Declaration {
    property: String,
    value: String,
    important: bool,
}

/// A parsed style sheet, in cascade order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Sheet {
    rules: Vec<Rule>,
}

impl Sheet {
    /// Adds the rules of `css`, after the ones already there.
    pub fn add(&mut self, css: &str) {
        let css = strip_comments(css);
        let mut rest = css.as_str();
        while let Some(open) = rest.find('{') {
            let prelude = rest[..open].trim();
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            if prelude.starts_with('@') {
                // At-rules (`@page`, `@font-face`, `@media`): skip the whole block, nested ones too.
                let mut depth = 0usize;
                let mut end = rest.len();
                for (idx, ch) in rest[open..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                end = open + idx + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                rest = &rest[end..];
                continue;
            }
            let body = &rest[open + 1..open + close];
            let declarations = parse_declarations(body);
            for selector_text in prelude.split(',') {
                if let Some(selector) = parse_selector(selector_text) {
                    let specificity = selector.iter().fold((0, 0), |(classes, tags), c| {
                        (
                            classes + c.classes.len() as u32,
                            tags + u32::from(c.tag.is_some()),
                        )
                    });
                    let order = self.rules.len();
                    self.rules.push(Rule {
                        selector,
                        specificity,
                        order,
                        declarations: declarations.clone(),
                    });
                }
            }
            rest = &rest[open + close + 1..];
        }
    }

    /// The computed style of `element` (whose ancestors, outermost first, are `ancestors`)
    /// inside a parent of style `parent`.
    pub fn compute(&self, element: &Element, ancestors: &[&Element], parent: &Style) -> Style {
        let mut style = parent.inherit();
        let mut matched: Vec<(bool, (u32, u32), usize, &Declaration)> = Vec::new();
        for rule in &self.rules {
            if matches(&rule.selector, element, ancestors) {
                for declaration in &rule.declarations {
                    matched.push((
                        declaration.important,
                        rule.specificity,
                        rule.order,
                        declaration,
                    ));
                }
            }
        }
        let inline = element
            .attr("style")
            .map(parse_declarations)
            .unwrap_or_default();
        for declaration in &inline {
            matched.push((
                declaration.important,
                (u32::MAX, 0),
                usize::MAX,
                declaration,
            ));
        }
        matched
            .sort_by_key(|(important, specificity, order, _)| (*important, *specificity, *order));
        for (_, _, _, declaration) in matched {
            apply(
                &mut style,
                parent,
                &declaration.property,
                &declaration.value,
            );
        }
        style
    }
}

fn matches(selector: &[Compound], element: &Element, ancestors: &[&Element]) -> bool {
    let Some((last, outer)) = selector.split_last() else {
        return false;
    };
    if !compound_matches(last, element) {
        return false;
    }
    // Descendant combinators: each outer compound matches some ancestor, innermost first.
    let mut remaining = ancestors.iter().rev();
    outer
        .iter()
        .rev()
        .all(|compound| remaining.any(|ancestor| compound_matches(compound, ancestor)))
}

fn compound_matches(compound: &Compound, element: &Element) -> bool {
    compound.tag.as_deref().is_none_or(|tag| tag == element.tag)
        && compound
            .classes
            .iter()
            .all(|class| element.has_class(class))
}

fn parse_selector(text: &str) -> Option<Vec<Compound>> {
    let mut compounds = Vec::new();
    for part in text.split_ascii_whitespace() {
        // Child combinators are read as descendant ones; anything fancier is not supported.
        if part == ">" {
            continue;
        }
        if part.contains(['#', '[', ':', '+', '~', '>']) {
            return None;
        }
        let mut pieces = part.split('.');
        let tag = pieces.next().unwrap_or_default();
        compounds.push(Compound {
            tag: (!tag.is_empty() && tag != "*").then(|| tag.to_ascii_lowercase()),
            classes: pieces
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    (!compounds.is_empty()).then_some(compounds)
}

fn parse_declarations(text: &str) -> Vec<Declaration> {
    text.split(';')
        .filter_map(|item| {
            let (property, value) = item.split_once(':')?;
            let value = value.trim();
            let (value, important) = match value.strip_suffix("!important") {
                Some(value) => (value.trim(), true),
                None => (value, false),
            };
            Some(Declaration {
                property: property.trim().to_ascii_lowercase(),
                value: value.to_ascii_lowercase(),
                important,
            })
        })
        .collect()
}

fn strip_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// A length in points; `em` is relative to `font_size`, `%` only where `percent_of` is given.
fn length(value: &str, font_size: f32) -> Option<Length> {
    let value = value.trim();
    if value == "0" || value == "auto" {
        return Some(Length::Pt(0.0));
    }
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(value.len());
    let number: f32 = value[..split].parse().ok()?;
    let pt = match &value[split..] {
        "px" | "" => number * PT_PER_PX,
        "pt" => number,
        "mm" => number * PT_PER_MM,
        "cm" => number * PT_PER_MM * 10.0,
        "in" => number * 72.0,
        "em" | "rem" => number * font_size,
        "%" => return Some(Length::Percent(number)),
        _ => return None,
    };
    Some(Length::Pt(pt))
}

fn absolute(value: &str, font_size: f32) -> Option<f32> {
    match length(value, font_size)? {
        Length::Pt(pt) => Some(pt),
        Length::Percent(_) => None,
    }
}

/// One to four lengths, CSS box order top, right, bottom, left.
fn box_sides(value: &str, font_size: f32) -> Option<[f32; 4]> {
    let parts: Vec<f32> = value
        .split_ascii_whitespace()
        .map(|part| absolute(part, font_size))
        .collect::<Option<_>>()?;
    Some(match parts.as_slice() {
        [all] => [*all; 4],
        [vertical, horizontal] => [*vertical, *horizontal, *vertical, *horizontal],
        [top, horizontal, bottom] => [*top, *horizontal, *bottom, *horizontal],
        [top, right, bottom, left] => [*top, *right, *bottom, *left],
        _ => return None,
    })
}

fn side(property: &str) -> Option<usize> {
    Some(match property.rsplit('-').next()? {
        "top" => 0,
        "right" => 1,
        "bottom" => 2,
        "left" => 3,
        _ => return None,
    })
}

fn apply(style: &mut Style, parent: &Style, property: &str, value: &str) {
    let size = style.size;
    match property {
        "text-align" => {
            style.align = match value {
                "right" | "end" => Align::Right,
                "center" => Align::Center,
                "justify" => Align::Justify,
                _ => Align::Left,
            }
        }
        "font-weight" => {
            style.bold = matches!(value, "bold" | "bolder" | "600" | "700" | "800" | "900")
        }
        "font-style" => style.italic = matches!(value, "italic" | "oblique"),
        "font-size" => {
            let keyword = match value {
                "xx-small" => Some(0.6),
                "x-small" => Some(0.75),
                "small" | "smaller" => Some(0.85),
                "medium" => Some(1.0),
                "large" | "larger" => Some(1.2),
                "x-large" => Some(1.5),
                "xx-large" => Some(2.0),
                _ => None,
            };
            style.size = match keyword {
                Some(factor) => parent.size * factor,
                None => match length(value, parent.size) {
                    Some(Length::Pt(pt)) if pt > 0.0 => pt,
                    Some(Length::Percent(percent)) => parent.size * percent / 100.0,
                    _ => style.size,
                },
            };
        }
        "line-height" => {
            if let Ok(factor) = value.parse::<f32>() {
                style.line_height = factor;
            } else if let Some(pt) = absolute(value, size) {
                style.line_height = pt / size.max(1.0);
            } else if let Some(Length::Percent(percent)) = length(value, size) {
                style.line_height = percent / 100.0;
            }
        }
        "white-space" => style.pre_wrap = matches!(value, "pre" | "pre-wrap" | "pre-line"),
        "display" => style.display_none = value == "none",
        "margin" | "padding" => {
            if let Some(sides) = box_sides(value, size) {
                if property == "margin" {
                    style.margin = sides;
                } else {
                    style.padding = sides;
                }
            }
        }
        "width" => style.width = length(value, size).filter(|_| value != "auto"),
        "max-width" => style.max_width = length(value, size).filter(|_| value != "none"),
        "height" => style.height = absolute(value, size).filter(|_| value != "auto"),
        "text-indent" => style.text_indent = absolute(value, size).unwrap_or(0.0),
        "border" | "border-top" | "border-bottom" | "border-left" | "border-right" => {
            style.border = !matches!(value, "none" | "0" | "hidden") && !value.is_empty();
        }
        "page-break-before" | "break-before" => {
            style.break_before = value == "always" || value == "page"
        }
        "page-break-after" | "break-after" => {
            style.break_after = value == "always" || value == "page"
        }
        _ => {
            let Some(idx) = side(property) else {
                return;
            };
            if let Some(pt) = absolute(value, size) {
                if property.starts_with("margin-") {
                    style.margin[idx] = pt;
                } else if property.starts_with("padding-") {
                    style.padding[idx] = pt;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factory::pdf::dom::{Node, parse};

    fn first_element(html: &str) -> Element {
        let dom = parse(html);
        dom.root
            .children
            .into_iter()
            .find_map(|node| match node {
                Node::Element(el) => Some(el),
                Node::Text(_) => None,
            })
            .expect("an element")
    }

    #[test]
    fn cascade_by_importance_specificity_and_order() {
        let mut sheet = Sheet::default();
        sheet.add("/* c */ p { text-align: right; margin: 2px 4px } .a p.b { text-align: center } p { font-size: 20px !important } @page { margin: 1cm } h1, p { font-weight: bold }");
        let div = first_element(
            "<div class='a'><p class='b' style='font-size: 10px; margin-left: 1mm'>x</p></div>",
        );
        let Node::Element(p) = &div.children[0] else {
            panic!("p")
        };
        let root = Style::root();
        let div_style = sheet.compute(&div, &[], &root);
        let style = sheet.compute(p, &[&div], &div_style);
        assert_eq!(style.align, Align::Center);
        assert_eq!(style.size, 15.0);
        assert!(style.bold);
        assert_eq!(style.margin[0], 1.5);
        assert!((style.margin[3] - 72.0 / 25.4).abs() < 1e-4);
        // Outside `.a` the class rule does not apply.
        let lone = first_element("<p class='b'>y</p>");
        assert_eq!(sheet.compute(&lone, &[], &root).align, Align::Right);
    }

    #[test]
    fn lengths_and_keywords() {
        assert_eq!(length("12pt", 10.0), Some(Length::Pt(12.0)));
        assert_eq!(length("1.5em", 10.0), Some(Length::Pt(15.0)));
        assert_eq!(length("30%", 10.0), Some(Length::Percent(30.0)));
        assert_eq!(length("wide", 10.0), None);
        assert_eq!(box_sides("1pt 2pt 3pt", 10.0), Some([1.0, 2.0, 3.0, 2.0]));
        assert_eq!(Length::Percent(50.0).resolve(300.0), 150.0);
    }
}
