//! Label and field selectors as list and watch requests carry them.
//!
//! Label selectors support `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` and `!k`.
//! Field selectors support `=`, `==` and `!=` on any dotted path of the object
//! (`metadata.name`, `metadata.namespace`, `status.phase`, …).

use serde_json::Value;

use crate::error::{Error, Result};

/// A parsed pair of label and field selectors; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Selector {
    /// Parses the `labelSelector` and `fieldSelector` query parameters.
    ///
    /// # Errors
    /// [`Error::BadRequest`] for a selector that does not parse.
    pub fn parse(label_selector: Option<&str>, field_selector: Option<&str>) -> Result<Self> {
        let labels = label_selector
            .map(parse_labels)
            .transpose()?
            .unwrap_or_default();
        let fields = field_selector
            .map(parse_fields)
            .transpose()?
            .unwrap_or_default();
        Ok(Self { labels, fields })
    }

    /// Whether the object satisfies every requirement.
    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        self.labels
            .iter()
            .all(|req| req.holds(|key| labels.get(key).and_then(Value::as_str).map(str::to_owned)))
            && self
                .fields
                .iter()
                .all(|req| req.holds(|key| field_value(object, key)))
    }
}

impl Requirement {
    fn holds(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            Self::Equals(key, value) => lookup(key).as_deref() == Some(value),
            Self::NotEquals(key, value) => lookup(key).as_deref() != Some(value),
            Self::In(key, values) => lookup(key).is_some_and(|found| values.contains(&found)),
            Self::NotIn(key, values) => lookup(key).is_none_or(|found| !values.contains(&found)),
            Self::Exists(key) => lookup(key).is_some(),
            Self::NotExists(key) => lookup(key).is_none(),
        }
    }
}

fn field_value(object: &Value, path: &str) -> Option<String> {
    let value = path
        .split('.')
        .try_fold(object, |value, segment| value.get(segment));
    match value {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) => None,
        Some(other) => Some(other.to_string()),
        None if path == "metadata.namespace" => Some(String::new()),
        None => None,
    }
}

fn split_terms(selector: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (idx, ch) in selector.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&selector[start..idx]);
                start = idx + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .collect()
}

fn bad(selector: &str) -> Error {
    Error::BadRequest(format!("unable to parse requirement: {selector:?}"))
}

fn parse_set(rest: &str, selector: &str) -> Result<Vec<String>> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| bad(selector))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

fn parse_equality(term: &str) -> Option<Requirement> {
    if let Some((key, value)) = term.split_once("!=") {
        return Some(Requirement::NotEquals(
            key.trim().to_owned(),
            value.trim().to_owned(),
        ));
    }
    let (key, value) = term.split_once("==").or_else(|| term.split_once('='))?;
    Some(Requirement::Equals(
        key.trim().to_owned(),
        value.trim().to_owned(),
    ))
}

fn parse_labels(selector: &str) -> Result<Vec<Requirement>> {
    split_terms(selector)
        .into_iter()
        .map(|term| {
            if let Some(req) = parse_equality(term) {
                return Ok(req);
            }
            if let Some((key, rest)) = term.split_once(" notin ") {
                return Ok(Requirement::NotIn(
                    key.trim().to_owned(),
                    parse_set(rest, selector)?,
                ));
            }
            if let Some((key, rest)) = term.split_once(" in ") {
                return Ok(Requirement::In(
                    key.trim().to_owned(),
                    parse_set(rest, selector)?,
                ));
            }
            if let Some(key) = term.strip_prefix('!') {
                return Ok(Requirement::NotExists(key.trim().to_owned()));
            }
            if term.contains([' ', '(', ')']) {
                return Err(bad(selector));
            }
            Ok(Requirement::Exists(term.to_owned()))
        })
        .collect()
}

fn parse_fields(selector: &str) -> Result<Vec<Requirement>> {
    split_terms(selector)
        .into_iter()
        .map(|term| parse_equality(term).ok_or_else(|| bad(selector)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(labels: Option<&str>, fields: Option<&str>, expected: bool) {
        let object = json!({"metadata": {"name": "web", "namespace": "coop", "labels": {"app": "mono", "tier": "db"}}});
        let selector = Selector::parse(labels, fields).expect("selector parses");
        assert_eq!(
            selector.matches(&object),
            expected,
            "labels {labels:?} fields {fields:?}"
        );
    }

    #[test]
    fn selectors_match_like_kubernetes() {
        check(None, None, true);
        check(Some("app=mono"), None, true);
        check(Some("app==mono,tier=db"), None, true);
        check(Some("app=other"), None, false);
        check(Some("app!=other"), None, true);
        check(Some("missing!=x"), None, true);
        check(Some("tier in (db, web)"), None, true);
        check(Some("tier notin (db)"), None, false);
        check(Some("missing notin (db)"), None, true);
        check(Some("app"), None, true);
        check(Some("!app"), None, false);
        check(Some("!missing"), None, true);
        check(None, Some("metadata.name=web"), true);
        check(
            None,
            Some("metadata.name=web,metadata.namespace=coop"),
            true,
        );
        check(None, Some("metadata.namespace!=coop"), false);
        check(Some("app=mono"), Some("metadata.name=db"), false);
    }

    #[test]
    fn malformed_selectors_are_rejected() {
        for (labels, fields) in [
            (Some("a in b"), None),
            (Some("a b"), None),
            (None, Some("metadata.name")),
        ] {
            assert!(
                matches!(Selector::parse(labels, fields), Err(Error::BadRequest(_))),
                "{labels:?} {fields:?}"
            );
        }
    }
}
