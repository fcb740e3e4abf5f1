//! Failures of API requests, each rendered as a Kubernetes `Status` body with the reason and
//! code a real API server would send, so clients take the same error paths.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request the fake refuses, as a Kubernetes API server would.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No object of that name, or no such resource type.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, such as `deployments.apps "web"`.
        what: String,
    },
    /// A create named an object that exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// The object, such as `secrets "db"`.
        what: String,
    },
    /// An optimistic-concurrency precondition failed.
    #[error("Operation cannot be fulfilled on {what}: {detail}")]
    Conflict {
        /// The object, such as `deployments.apps "web"`.
        what: String,
        /// Why, such as the stale resourceVersion.
        detail: String,
    },
    /// The object or patch is not acceptable.
    #[error("{what} is invalid: {detail}")]
    Invalid {
        /// The object or request.
        what: String,
        /// The failed rule.
        detail: String,
    },
    /// A write breaks field rules of the API server's validation, such as an immutable field
    /// that changed.
    #[error("{} is invalid: {}", qualified(kind, group, name), joined(causes))]
    FieldsInvalid {
        /// API group of the object, empty for core.
        group: String,
        /// Kind of the object.
        kind: String,
        /// Name of the object.
        name: String,
        /// Every broken rule.
        causes: Vec<Cause>,
    },
    /// An admission plugin refused the request.
    #[error("{plural} {name:?} is forbidden: {detail}")]
    Forbidden {
        /// Resource plural, as the real message names it.
        plural: String,
        /// Name of the object.
        name: String,
        /// Why.
        detail: String,
    },
    /// The request's bearer token is not one the fake handed out.
    #[error("Unauthorized")]
    Unauthorized,
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// A watch asked for history that has been compacted away.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        /// The version the client asked for.
        requested: u64,
        /// The oldest version still replayable.
        oldest: u64,
    },
    /// The URL names no served resource type.
    #[error("the server could not find the requested resource")]
    UnknownResource,
    /// The verb is not served on that path.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// The body's content type is not one the fake understands.
    #[error("the body of the request was in an unknown format: {0}")]
    UnsupportedMediaType(String),
}

/// Result of a store or API operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One broken field rule, as `details.causes` of a `Status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The field's path, such as `spec.template`.
    pub field: String,
    /// Whether the value is invalid or the change forbidden.
    pub kind: CauseKind,
    /// What is wrong, such as `field is immutable`.
    pub detail: String,
}

/// The `reason` of a [`Cause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseKind {
    /// `FieldValueInvalid`: the field may not take this value.
    Invalid,
    /// `FieldValueForbidden`: the field may not be set or changed.
    Forbidden,
}

impl Cause {
    /// A field that may not change.
    pub(crate) fn immutable(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            kind: CauseKind::Invalid,
            detail: "field is immutable".to_owned(),
        }
    }

    /// A value a rule refuses, with the rule's message.
    pub(crate) fn invalid(field: &str, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            kind: CauseKind::Invalid,
            detail: detail.to_owned(),
        }
    }

    /// A change the rules forbid, with why.
    pub(crate) fn forbidden(field: &str, detail: &str) -> Self {
        Self {
            field: field.to_owned(),
            kind: CauseKind::Forbidden,
            detail: detail.to_owned(),
        }
    }

    /// The cause's `message`, as the API server writes it (without the field).
    fn message(&self) -> String {
        match self.kind {
            // The real server also prints the rejected value; the fake leaves it out.
            CauseKind::Invalid => format!("Invalid value: \"object\": {}", self.detail),
            CauseKind::Forbidden => format!("Forbidden: {}", self.detail),
        }
    }

    fn reason(&self) -> &'static str {
        match self.kind {
            CauseKind::Invalid => "FieldValueInvalid",
            CauseKind::Forbidden => "FieldValueForbidden",
        }
    }
}

/// `Kind.group "name"`, as validation messages name an object.
fn qualified(kind: &str, group: &str, name: &str) -> String {
    if group.is_empty() {
        format!("{kind} {name:?}")
    } else {
        format!("{kind}.{group} {name:?}")
    }
}

/// The causes as one message: alone, or in brackets separated by commas.
fn joined(causes: &[Cause]) -> String {
    let texts: Vec<String> = causes
        .iter()
        .map(|cause| format!("{}: {}", cause.field, cause.message()))
        .collect();
    match texts.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", texts.join(", ")),
    }
}

impl Error {
    /// The `reason` field of the `Status` body.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::UnknownResource => "NotFound",
            Self::AlreadyExists { .. } => "AlreadyExists",
            Self::Conflict { .. } => "Conflict",
            Self::Invalid { .. } | Self::FieldsInvalid { .. } => "Invalid",
            Self::Forbidden { .. } => "Forbidden",
            Self::Unauthorized => "Unauthorized",
            Self::BadRequest(_) => "BadRequest",
            Self::Expired { .. } => "Expired",
            Self::MethodNotAllowed => "MethodNotAllowed",
            Self::UnsupportedMediaType(_) => "UnsupportedMediaType",
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } | Self::UnknownResource => StatusCode::NOT_FOUND,
            Self::AlreadyExists { .. } | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Invalid { .. } | Self::FieldsInvalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Expired { .. } => StatusCode::GONE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    /// The Kubernetes `Status` object describing this failure.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code().as_u16(),
        });
        match self {
            Self::FieldsInvalid {
                group,
                kind,
                name,
                causes,
            } => {
                let causes: Vec<Value> = causes
                    .iter()
                    .map(|cause| {
                        json!({"reason": cause.reason(), "message": cause.message(), "field": cause.field})
                    })
                    .collect();
                status["details"] =
                    json!({"name": name, "group": group, "kind": kind, "causes": causes});
            }
            Self::Forbidden { plural, name, .. } => {
                status["details"] = json!({"name": name, "kind": plural});
            }
            _ => {}
        }
        status
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        (self.code(), axum::Json(self.status())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_bodies_carry_reason_and_code() {
        let cases = [
            (
                Error::NotFound {
                    what: "secrets \"a\"".into(),
                },
                "NotFound",
                404,
            ),
            (
                Error::AlreadyExists {
                    what: "secrets \"a\"".into(),
                },
                "AlreadyExists",
                409,
            ),
            (
                Error::Conflict {
                    what: "x".into(),
                    detail: "y".into(),
                },
                "Conflict",
                409,
            ),
            (
                Error::Invalid {
                    what: "x".into(),
                    detail: "y".into(),
                },
                "Invalid",
                422,
            ),
            (
                Error::Expired {
                    requested: 1,
                    oldest: 5,
                },
                "Expired",
                410,
            ),
            (Error::BadRequest("x".into()), "BadRequest", 400),
            (
                Error::FieldsInvalid {
                    group: "batch".into(),
                    kind: "Job".into(),
                    name: "a".into(),
                    causes: vec![Cause::immutable("spec.template")],
                },
                "Invalid",
                422,
            ),
            (
                Error::Forbidden {
                    plural: "persistentvolumeclaims".into(),
                    name: "a".into(),
                    detail: "x".into(),
                },
                "Forbidden",
                403,
            ),
        ];
        for (error, reason, code) in cases {
            let status = error.status();
            assert_eq!(
                (status["reason"].as_str(), status["code"].as_u64()),
                (Some(reason), Some(code))
            );
            assert_eq!(status["status"], "Failure");
            assert_eq!(status["message"], error.to_string());
        }
    }
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn field_errors_read_as_the_api_server_writes_them() {
        let one = Error::FieldsInvalid {
            group: "batch".into(),
            kind: "Job".into(),
            name: "voskhod-import".into(),
            causes: vec![Cause::immutable("spec.template")],
        };
        assert_eq!(
            one.status(),
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Job.batch \"voskhod-import\" is invalid: spec.template: Invalid value: \"object\": field is immutable",
                "reason": "Invalid",
                "details": {"name": "voskhod-import", "group": "batch", "kind": "Job", "causes": [
                    {"reason": "FieldValueInvalid", "message": "Invalid value: \"object\": field is immutable", "field": "spec.template"},
                ]},
                "code": 422,
            })
        );
        let two = Error::FieldsInvalid {
            group: String::new(),
            kind: "PersistentVolumeClaim".into(),
            name: "data".into(),
            causes: vec![
                Cause::forbidden("spec", "x"),
                Cause::forbidden("spec.resources.requests.storage", "y"),
            ],
        };
        assert_eq!(
            two.to_string(),
            "PersistentVolumeClaim \"data\" is invalid: [spec: Forbidden: x, spec.resources.requests.storage: Forbidden: y]"
        );
    }
}
