//! The document's HTML as it is kept: the rendered template inside a page with a print
//! stylesheet. The same stylesheet drives the PDF layout, so a browser printing the HTML and
//! the factory's PDF agree on fonts, sizes, margins and alignment.

/// The print stylesheet of every document; its `@page` margins are the layout's.
pub const PRINT_CSS: &str = "@page { size: A4; margin: 20mm 15mm 22mm 25mm; }
body { font-family: 'PT Serif', serif; font-size: 11pt; line-height: 1.35; margin: 0; }
h1 { font-size: 14pt; text-align: center; margin: 0 0 10pt; }
h2 { font-size: 12.5pt; text-align: center; margin: 12pt 0 6pt; }
h3 { font-size: 11.5pt; margin: 12pt 0 5pt; }
p { margin: 0 0 6pt; text-align: justify; }
ul, ol { margin: 0 0 6pt; padding-left: 18pt; }
li { margin: 0 0 3pt; text-align: justify; }
table { width: 100%; border-collapse: collapse; margin: 4pt 0 8pt; }
td, th { padding: 2pt 4pt; text-align: left; vertical-align: top; }
table.grid td, table.grid th { border: 0.5pt solid #000; padding: 3pt 5pt; }
.right, .right p { text-align: right; }
.center, .center p { text-align: center; }
.small { font-size: 9pt; }
.stamp { margin: 0 0 12pt; }
.stamp p { margin: 0; text-align: right; font-size: 10pt; }
table.place { margin: 0 0 10pt; }
table.place td, table.signature td { padding-left: 0; padding-right: 0; }
.signature { margin-top: 16pt; }
.signature p { margin: 0 0 3pt; text-align: left; }
hr { border: 0; border-top: 0.5pt solid #000; }
";

/// The complete HTML page of a document titled `title` in language `lang`.
pub fn page(title: &str, lang: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + PRINT_CSS.len() + 256);
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    push_escaped(&mut out, lang);
    out.push_str("\">\n<head>\n<meta charset=\"UTF-8\">\n<title>");
    push_escaped(&mut out, title);
    out.push_str("</title>\n<style>\n");
    out.push_str(PRINT_CSS);
    out.push_str("</style>\n</head>\n<body>\n");
    out.push_str(body);
    out.push_str("\n</body>\n</html>\n");
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_wraps_the_body_with_the_print_stylesheet() {
        let html = page("Акт <1>", "ru", "<p>x</p>");
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
        assert!(html.contains("<title>Акт &lt;1&gt;</title>"));
        assert!(html.contains("@page { size: A4"));
        assert!(html.contains("<body>\n<p>x</p>\n</body>"));
    }
}
