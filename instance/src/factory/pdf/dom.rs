//! A tolerant HTML reader for the markup the templates produce: elements with attributes,
//! text with entities decoded, `<style>` sheets collected, comments and doctype skipped.
//! It repairs what browsers repair in these templates (a `<p>` opened inside an open `<p>`,
//! cells and rows left unclosed, stray closing tags) and never fails.

/// A node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// An element.
    Element(Element),
    /// Text, entities decoded, whitespace as written.
    Text(String),
}

/// An element with its lowercase tag name and attributes in source order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Element {
    pub tag: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A parsed page: the tree under a synthetic root and the text of every `<style>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dom {
    pub root: Element,
    pub styles: Vec<String>,
    pub title: Option<String>,
}

impl Element {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether the `class` attribute lists `class`.
    pub fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|classes| classes.split_ascii_whitespace().any(|c| c == class))
    }
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr",
];
const RAW_TEXT: &[&str] = &["style", "script", "title"];
/// Starting one of these closes an open `<p>`, as in HTML.
const CLOSES_P: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
    "hr",
    "blockquote",
    "section",
    "header",
    "footer",
    "pre",
];

/// Parses `html` into a tree.
pub(crate) fn parse(html: &str) -> Dom {
    let mut dom = Dom::default();
    dom.root.tag = "#root".to_owned();
    let mut stack: Vec<Element> = vec![std::mem::take(&mut dom.root)];
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(&mut stack, rest);
            break;
        };
        push_text(&mut stack, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').unwrap_or(after.len());
            let name = after[..end].trim().to_ascii_lowercase();
            close(&mut stack, &name);
            rest = after.get(end + 1..).unwrap_or("");
            continue;
        }
        let Some((element, self_closing, consumed)) = open_tag(rest) else {
            push_text(&mut stack, "<");
            rest = &rest[1..];
            continue;
        };
        rest = &rest[consumed..];
        let tag = element.tag.clone();
        if RAW_TEXT.contains(&tag.as_str()) {
            let closing = format!("</{tag}");
            let end = find_ascii_case_insensitive(rest, &closing).unwrap_or(rest.len());
            let text = &rest[..end];
            match tag.as_str() {
                "style" => dom.styles.push(text.to_owned()),
                "title" => dom.title = Some(decode_entities(text).trim().to_owned()),
                _ => {}
            }
            rest = &rest[end..];
            rest = rest.find('>').map_or("", |gt| &rest[gt + 1..]);
            continue;
        }
        auto_close(&mut stack, &tag);
        if self_closing || VOID.contains(&tag.as_str()) {
            append(&mut stack, Node::Element(element));
        } else {
            stack.push(element);
        }
    }
    while stack.len() > 1 {
        pop_into_parent(&mut stack);
    }
    dom.root = stack.pop().unwrap_or_default();
    dom
}

fn push_text(stack: &mut [Element], text: &str) {
    if text.is_empty() {
        return;
    }
    let decoded = decode_entities(text);
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(previous)) = top.children.last_mut() {
            previous.push_str(&decoded);
        } else {
            top.children.push(Node::Text(decoded));
        }
    }
}

fn append(stack: &mut [Element], node: Node) {
    if let Some(top) = stack.last_mut() {
        top.children.push(node);
    }
}

fn pop_into_parent(stack: &mut Vec<Element>) {
    if let Some(done) = stack.pop() {
        append(stack, Node::Element(done));
    }
}

/// Closes the innermost open `name` and everything inside it; a closing tag with nothing
/// to close is ignored (and `</p>` alone makes an empty paragraph, as in browsers).
fn close(stack: &mut Vec<Element>, name: &str) {
    let Some(idx) = stack.iter().rposition(|el| el.tag == name) else {
        if name == "p" {
            append(
                stack,
                Node::Element(Element {
                    tag: "p".to_owned(),
                    ..Element::default()
                }),
            );
        }
        return;
    };
    if idx == 0 {
        return;
    }
    while stack.len() > idx {
        pop_into_parent(stack);
    }
}

/// Implied end tags: a block closes an open paragraph; a row, cell or item closes its open
/// sibling.
fn auto_close(stack: &mut Vec<Element>, tag: &str) {
    let open_in_scope = |stack: &Vec<Element>, names: &[&str], boundary: &[&str]| {
        stack
            .iter()
            .rev()
            .take_while(|el| !boundary.contains(&el.tag.as_str()))
            .position(|el| names.contains(&el.tag.as_str()))
            .map(|from_top| stack.len() - 1 - from_top)
    };
    let target = if CLOSES_P.contains(&tag) {
        open_in_scope(stack, &["p"], &["td", "th", "li", "div", "table"])
    } else if tag == "li" {
        open_in_scope(stack, &["li"], &["ul", "ol"])
    } else if tag == "tr" {
        open_in_scope(stack, &["tr"], &["table"])
    } else if tag == "td" || tag == "th" {
        open_in_scope(stack, &["td", "th"], &["tr", "table"])
    } else {
        None
    };
    if let Some(idx) = target
        && idx > 0
    {
        while stack.len() > idx {
            pop_into_parent(stack);
        }
    }
}

/// Reads `<tag attr="v" …>` at the start of `text`: the element, whether it ended in `/>`,
/// and the bytes consumed.
fn open_tag(text: &str) -> Option<(Element, bool, usize)> {
    let bytes = text.as_bytes();
    let mut idx = 1;
    let name_start = idx;
    while idx < bytes.len() && (bytes[idx].is_ascii_alphanumeric() || bytes[idx] == b'-') {
        idx += 1;
    }
    if idx == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let mut element = Element {
        tag: text[name_start..idx].to_ascii_lowercase(),
        ..Element::default()
    };
    loop {
        while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
            idx += 1;
        }
        match bytes.get(idx) {
            None => return Some((element, false, text.len())),
            Some(b'>') => return Some((element, false, idx + 1)),
            Some(b'/') if bytes.get(idx + 1) == Some(&b'>') => {
                return Some((element, true, idx + 2));
            }
            Some(b'/') => {
                idx += 1;
                continue;
            }
            Some(_) => {}
        }
        let key_start = idx;
        while idx < bytes.len()
            && !bytes[idx].is_ascii_whitespace()
            && !matches!(bytes[idx], b'=' | b'>' | b'/')
        {
            idx += 1;
        }
        let key = text[key_start..idx].to_ascii_lowercase();
        while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
            idx += 1;
        }
        let mut value = String::new();
        if bytes.get(idx) == Some(&b'=') {
            idx += 1;
            while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
                idx += 1;
            }
            match bytes.get(idx) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let start = idx + 1;
                    let end = text[start..]
                        .find(char::from(quote))
                        .map_or(text.len(), |end| start + end);
                    value = decode_entities(&text[start..end]);
                    idx = (end + 1).min(text.len());
                }
                _ => {
                    let start = idx;
                    while idx < bytes.len()
                        && !bytes[idx].is_ascii_whitespace()
                        && bytes[idx] != b'>'
                    {
                        idx += 1;
                    }
                    value = decode_entities(&text[start..idx]);
                }
            }
        }
        if key.is_empty() {
            idx += 1;
        } else {
            element.attrs.push((key, value));
        }
    }
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Decodes named entities the templates use and every numeric one.
pub(crate) fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|end| *end <= 10);
        let decoded = end.and_then(|end| entity(&after[..end]).map(|ch| (ch, end)));
        match decoded {
            Some((ch, end)) => {
                out.push(ch);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "laquo" => '«',
        "raquo" => '»',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "numero" => '№',
        "copy" => '©',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(element: &Element) -> String {
        let mut out = element.tag.clone();
        out.push('(');
        for child in &element.children {
            match child {
                Node::Element(el) => out.push_str(&tags(el)),
                Node::Text(text) => out.push_str(&format!("'{text}'")),
            }
        }
        out.push(')');
        out
    }

    fn check(html: &str, expected: &str) {
        assert_eq!(tags(&parse(html).root), expected, "{html}");
    }

    #[test]
    fn repairs_what_browsers_repair() {
        check("<p>a<p>b</p>", "#root(p('a')p('b'))");
        check("<p>a<div>b</div>c</p>", "#root(p('a')div('b')'c'p())");
        check(
            "<table><tr><td>1<td>2<tr><th>3</table>",
            "#root(table(tr(td('1')td('2'))tr(th('3'))))",
        );
        check("<ul><li>a<li>b</ul>", "#root(ul(li('a')li('b')))");
        check(
            "<b>x</i>y</b><br/>z<img src=a>",
            "#root(b('xy')br()'z'img())",
        );
        check(
            "<!DOCTYPE html><!-- c --><span>&laquo;a&raquo; &amp; &#1046;&#x416;&bogus;</span>",
            "#root(span('«a» & ЖЖ&bogus;'))",
        );
    }

    #[test]
    fn styles_title_and_attributes() {
        let dom = parse(
            "<title>Т &amp; Т</title><style>p{color:red}</style><p class='a b' style=\"text-align: right\" hidden>x</p>",
        );
        assert_eq!(dom.styles, ["p{color:red}"]);
        assert_eq!(dom.title.as_deref(), Some("Т & Т"));
        let Node::Element(p) = &dom.root.children[0] else {
            panic!("element")
        };
        assert!(p.has_class("b") && !p.has_class("c"));
        assert_eq!(p.attr("style"), Some("text-align: right"));
        assert_eq!(p.attr("hidden"), Some(""));
        check("<p>a < b</p>", "#root(p('a < b'))");
    }
}
