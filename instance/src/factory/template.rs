//! Nunjucks templates of the chain's drafts on minijinja.
//!
//! The drafts use Nunjucks syntax and one custom tag, `{% trans 'key', a0, a1 %}`: the text of
//! `key` in the draft's translation with `{0}`, `{1}`… replaced by the arguments. minijinja has
//! no custom tags, so the template text is first rewritten: each `trans` tag becomes
//! `{{ trans('key', a0, a1) }}`, and Nunjucks' `elseif` becomes `elif`. The `trans` function
//! returns safe text, so the translation is not escaped; its arguments are variables and are.
//! Variables are escaped as Nunjucks escapes them (`& < > " '`), undefined values and `null`
//! print nothing, and a member of a missing object is undefined rather than an error, as in
//! Nunjucks. Pure: no I/O, no clock.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use minijinja::value::Rest;
use minijinja::{
    AutoEscape, Environment, Error as JinjaError, ErrorKind, State, UndefinedBehavior, Value,
};

/// Why a template did not render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template text does not parse or fails while rendering.
    #[error("template of registry id {registry_id}: {message}")]
    Render {
        /// The draft's registry id.
        registry_id: u64,
        /// minijinja's description, with the line.
        message: String,
    },
}

/// Name under which the draft's text is compiled.
const TEMPLATE_NAME: &str = "context";

/// Renders the draft text `context` with `model` and the translation `texts`.
///
/// # Errors
/// [`TemplateError::Render`] when the text does not parse, a `trans` key is missing, or a
/// filter fails.
pub fn render(
    registry_id: u64,
    context: &str,
    texts: &BTreeMap<String, String>,
    model: &serde_json::Value,
) -> Result<String, TemplateError> {
    Compiled::new(registry_id, context, texts)?.render(model)
}

/// A draft's text parsed once with its translation, to render any number of models; what it
/// renders is what [`render`] renders.
pub struct Compiled {
    registry_id: u64,
    env: Environment<'static>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("registry_id", &self.registry_id)
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// Parses `context` (after rewriting its Nunjucks-only syntax) with the translation
    /// `texts`.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when the text does not parse.
    pub fn new(
        registry_id: u64,
        context: &str,
        texts: &BTreeMap<String, String>,
    ) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_formatter(format_value);
        let texts = Arc::new(texts.clone());
        env.add_function("trans", move |key: String, args: Rest<Value>| {
            translate(&texts, &key, &args)
        });
        env.add_filter("datetime", datetime_filter);
        env.add_filter("date", date_filter);
        env.add_template_owned(TEMPLATE_NAME, rewrite_nunjucks(context))
            .map_err(|err| fail(registry_id, &err))?;
        Ok(Self { registry_id, env })
    }

    /// Renders `model`.
    ///
    /// # Errors
    /// [`TemplateError::Render`] when a `trans` key is missing or a filter fails.
    pub fn render(&self, model: &serde_json::Value) -> Result<String, TemplateError> {
        let fail = |err: JinjaError| fail(self.registry_id, &err);
        self.env
            .get_template(TEMPLATE_NAME)
            .map_err(fail)?
            .render(Value::from(minijinja::value::Serde(model)))
            .map_err(fail)
    }
}

fn fail(registry_id: u64, err: &JinjaError) -> TemplateError {
    TemplateError::Render {
        registry_id,
        message: describe(err),
    }
}

/// Rewrites the Nunjucks-only syntax the drafts use into minijinja's: `{% trans … %}` into a
/// `trans(…)` call and `elseif` into `elif`. Quoted strings inside tags are skipped over, so
/// a `%}` inside a string does not end the tag.
pub fn rewrite_nunjucks(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut rest = source;
    while let Some(start) = rest.find("{%") {
        out.push_str(&rest[..start]);
        let tag = &rest[start..];
        let Some(end) = tag_end(tag) else {
            out.push_str(tag);
            return out;
        };
        let inner = &tag[2..end];
        let (open_trim, inner) = strip_marker(inner, true);
        let (close_trim, inner) = strip_marker(inner, false);
        let body = inner.trim();
        let word_end = body
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(body.len());
        match &body[..word_end] {
            "trans" => {
                let args = body[word_end..].trim().trim_start_matches(',');
                let _ = write!(
                    out,
                    "{{{{{} trans({}) {}}}}}",
                    if open_trim { "-" } else { "" },
                    args.trim(),
                    if close_trim { "-" } else { "" }
                );
            }
            "elseif" => {
                let _ = write!(
                    out,
                    "{{%{} elif{} {}%}}",
                    if open_trim { "-" } else { "" },
                    &body[word_end..],
                    if close_trim { "-" } else { "" }
                );
            }
            _ => out.push_str(&tag[..end + 2]),
        }
        rest = &tag[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The offset of the `%}` that closes the tag `tag` opens, skipping quoted strings.
fn tag_end(tag: &str) -> Option<usize> {
    let bytes = tag.as_bytes();
    let mut idx = 2;
    let mut quote: Option<u8> = None;
    while idx < bytes.len() {
        let byte = bytes[idx];
        match quote {
            Some(_) if byte == b'\\' => idx += 1,
            Some(q) if byte == q => quote = None,
            Some(_) => {}
            None if byte == b'\'' || byte == b'"' => quote = Some(byte),
            None if byte == b'%' && bytes.get(idx + 1) == Some(&b'}') => return Some(idx),
            None => {}
        }
        idx += 1;
    }
    None
}

/// Strips the whitespace-control `-` at the start (or end) of a tag's inside.
fn strip_marker(inner: &str, start: bool) -> (bool, &str) {
    if start {
        inner
            .strip_prefix('-')
            .map_or((false, inner), |rest| (true, rest))
    } else {
        inner
            .strip_suffix('-')
            .map_or((false, inner), |rest| (true, rest))
    }
}

/// The `trans` function: the text of `key` with `{i}` replaced by the escaped i-th argument.
fn translate(
    texts: &BTreeMap<String, String>,
    key: &str,
    args: &[Value],
) -> Result<Value, JinjaError> {
    let text = texts.get(key).ok_or_else(|| {
        JinjaError::new(
            ErrorKind::InvalidOperation,
            format!("no translation for key {key:?}"),
        )
    })?;
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}');
        let index = close.and_then(|close| after[..close].parse::<usize>().ok());
        match (close, index) {
            (Some(close), Some(index)) => {
                if let Some(arg) = args.get(index) {
                    write_escaped(&mut out, arg);
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(Value::from_safe_string(out))
}

/// Writes a value as Nunjucks prints it: safe values as they are, `null` and undefined as
/// nothing, everything else HTML-escaped.
fn format_value(
    out: &mut minijinja::Output<'_>,
    _state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), JinjaError> {
    let mut text = String::new();
    write_escaped(&mut text, value);
    out.write_str(&text)
        .map_err(|err| JinjaError::new(ErrorKind::WriteFailure, err.to_string()))
}

fn write_escaped(out: &mut String, value: &Value) {
    if value.is_undefined() || value.is_none() {
        return;
    }
    if value.is_safe()
        && let Some(text) = value.as_str()
    {
        out.push_str(text);
        return;
    }
    let text = match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    };
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

/// `{{ meta.created_at | datetime(meta.timezone) }}`: an ISO-8601 instant as
/// `DD.MM.YYYY HH:MM` in the zone (bundled time-zone data, so every machine prints the same).
fn datetime_filter(value: &str, zone: Option<&str>) -> Result<String, JinjaError> {
    local_time(value, zone).map(|zoned| zoned.strftime("%d.%m.%Y %H:%M").to_string())
}

/// `{{ meta.created_at | date(meta.timezone) }}`: the instant's date as `DD.MM.YYYY`; a plain
/// `YYYY-MM-DD` date is reformatted as it is.
fn date_filter(value: &str, zone: Option<&str>) -> Result<String, JinjaError> {
    if let Ok(date) = value.parse::<jiff::civil::Date>()
        && value.len() == 10
    {
        return Ok(date.strftime("%d.%m.%Y").to_string());
    }
    local_time(value, zone).map(|zoned| zoned.strftime("%d.%m.%Y").to_string())
}

fn local_time(value: &str, zone: Option<&str>) -> Result<jiff::Zoned, JinjaError> {
    let bad = |message: String| JinjaError::new(ErrorKind::InvalidOperation, message);
    let instant: jiff::Timestamp = value
        .parse()
        .map_err(|err| bad(format!("{value:?} is not an ISO-8601 instant: {err}")))?;
    let zone = zone.unwrap_or("UTC");
    let tz = jiff::tz::TimeZoneDatabase::bundled()
        .get(zone)
        .map_err(|err| bad(format!("unknown time zone {zone:?}: {err}")))?;
    Ok(instant.to_zoned(tz))
}

fn describe(err: &JinjaError) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn texts() -> BTreeMap<String, String> {
        [
            ("hello", "Здравствуйте, <b>{0}</b>!"),
            ("pair", "{1} и {0}; {2}"),
            ("plain", "Текст"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn check(template: &str, model: serde_json::Value, expected: &str) {
        let got = render(1, template, &texts(), &model).expect("renders");
        assert_eq!(got, expected, "{template}");
    }

    #[test]
    fn trans_tags_are_rewritten_into_calls() {
        assert_eq!(
            rewrite_nunjucks("a{% trans 'k', x.y, 'q%}' %}b{%- trans \"p\" -%}"),
            "a{{ trans('k', x.y, 'q%}') }}b{{- trans(\"p\") -}}"
        );
        assert_eq!(
            rewrite_nunjucks("{% if a %}1{% elseif b %}2{% endif %}"),
            "{% if a %}1{% elif b %}2{% endif %}"
        );
        assert_eq!(rewrite_nunjucks("{% trans"), "{% trans");
    }

    #[test]
    fn translations_are_safe_and_arguments_escaped() {
        check(
            "{% trans 'hello', name %}",
            json!({"name": "A&B"}),
            "Здравствуйте, <b>A&amp;B</b>!",
        );
        check("{% trans 'pair', 1, 'два' %}", json!({}), "два и 1; ");
        check("{% trans 'plain' %}", json!({}), "Текст");
        assert!(render(1, "{% trans 'missing' %}", &texts(), &json!({})).is_err());
    }

    #[test]
    fn variables_are_escaped_as_nunjucks_does() {
        check(
            "{{ v }}",
            json!({"v": "<a href='x'>\"&\"</a>"}),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;",
        );
        check(
            "[{{ n }}|{{ missing }}|{{ missing.deep.field }}]",
            json!({"n": null}),
            "[||]",
        );
        check("{{ v | safe }}", json!({"v": "<i>"}), "<i>");
    }

    #[test]
    fn nunjucks_control_flow_and_filters() {
        let template = "{% if t == 'a' %}A{% elif t == 'b' %}B{% else %}C{% endif %}";
        check(template, json!({"t": "a"}), "A");
        check(template, json!({"t": "b"}), "B");
        check(template, json!({"t": "z"}), "C");
        check(
            "{% for m in members %}{{ loop.index }}.{{ m.name | upper }}{% if not loop.last %}, {% endif %}{% endfor %}",
            json!({"members": [{"name": "ив"}, {"name": "пётр"}]}),
            "1.ИВ, 2.ПЁТР",
        );
        check(
            "{{ coop.chairman.last_name }}",
            json!({"coop": {"chairman": {"last_name": "Иванов"}}}),
            "Иванов",
        );
        check(
            "{% if branch %}{{ branch.name }}{% else %}нет{% endif %}",
            json!({}),
            "нет",
        );
        check(
            "{{ x | default('—') }} {{ items | length }} {{ items | join(', ') }}",
            json!({"items": ["a", "b"]}),
            "— 2 a, b",
        );
        check(
            "{{ '%.2f' | format(total) }}",
            json!({"total": 3.5}),
            "3.50",
        );
    }

    #[test]
    fn dates_print_in_the_document_zone() {
        check(
            "{{ at | datetime('Europe/Moscow') }} {{ at | date('Europe/Moscow') }} {{ day | date }}",
            json!({"at": "2025-03-01T21:30:00.000Z", "day": "1990-05-17"}),
            "02.03.2025 00:30 02.03.2025 17.05.1990",
        );
        assert!(render(1, "{{ 'x' | date }}", &texts(), &json!({})).is_err());
    }
}
